#pragma once
// Files and sizes as every layer writes and reports them: results, side files and .npy
// outputs are written atomically (never half a file, never over an existing one), and sizes in
// messages read "1.5 GiB".

#include <cstdint>
#include <filesystem>
#include <string>

namespace posbench {

// Writes `content` to a temporary file beside `target`, flushes it to disk, then links it
// into place; fails (UserError) if `target` already exists. Creates the parent directory.
void write_file_atomically(const std::filesystem::path& target, const std::string& content);

// As write_file_atomically, but an existing file at `target` is replaced (`--force`): the
// temporary file is renamed over it, so a reader sees the old content or the new, never half.
void replace_file_atomically(const std::filesystem::path& target, const std::string& content);

// Refuses, before any work is done, a target that write_file_atomically would refuse at the end:
// one that exists, or whose directory cannot be created or written (a parent that is a file, a
// read-only directory). `option` names where the path came from ("-o", "--output").
void check_output_target(const std::filesystem::path& target, const std::string& option);
// With `force`, an existing regular file (or a link to one) is accepted: replace_file_atomically
// will replace it. Anything else that exists there (a directory) is still refused.
void check_output_target(const std::filesystem::path& target, const std::string& option,
                         bool force);

// Removes the temporary file of a write_file_atomically in progress, if any. Async-signal-safe:
// for a SIGINT/SIGTERM handler, so an interrupted run leaves nothing behind.
void remove_pending_temporary_file();

// Refuses (UserError naming `option`) a path that is not valid UTF-8. Paths end up in JSON
// (results, `list --json`, plugin sources), which holds only UTF-8 text: such a path would make
// the results unwritable after a whole run, so it is refused before anything runs.
void require_utf8_path(const std::filesystem::path& path, const std::string& option);

// "1.5 GiB"
std::string human_bytes(uint64_t bytes);

}  // namespace posbench
