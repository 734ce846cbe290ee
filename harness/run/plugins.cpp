#include "harness/run/plugins.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "encoders/experiment.h"
#include "encoders/files.h"

namespace posbench {

namespace {

namespace fs = std::filesystem;

// ---- step 1 and 2: read the ELF file without running it ----------------------------------

struct ElfFacts {
  std::string problem;             // non-empty: not loadable, says why
  std::optional<int32_t> version;  // contents of .posbench_plugin, if present
};

template <class T>
bool read_at(std::ifstream& in, uint64_t offset, T* out, size_t count = 1) {
  in.seekg(std::streamoff(offset));
  in.read(reinterpret_cast<char*>(out), std::streamsize(sizeof(T) * count));
  return bool(in);
}

ElfFacts inspect_elf(const fs::path& file) {
  ElfFacts facts;
  std::ifstream in(file, std::ios::binary);
  if (!in) return {"cannot open it for reading", {}};
  Elf64_Ehdr eh{};
  in.read(reinterpret_cast<char*>(&eh), sizeof eh);
  const auto got = size_t(in.gcount());
  if (got < SELFMAG || std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
    return {
        "is not a shared library (no ELF header); expected a .so built as a CMake MODULE "
        "library linked to posbench::sdk",
        {}};
  if (eh.e_ident[EI_CLASS] == ELFCLASS32)
    return {"is a 32-bit ELF file; this posbench is 64-bit", {}};
  if (eh.e_ident[EI_CLASS] != ELFCLASS64)
    return {"is a corrupt ELF file (unknown class " + std::to_string(eh.e_ident[EI_CLASS]) + ")",
            {}};
  if (got < sizeof eh) return {"is a truncated ELF file (shorter than its header)", {}};
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB)
    return {"is a big-endian ELF file; this posbench is little-endian", {}};
  if (eh.e_type == ET_REL)
    return {"is an object file (.o), not a shared library; build a MODULE library", {}};
  if (eh.e_type != ET_DYN) return {"is an ELF executable, not a shared library", {}};
#if defined(__x86_64__)
  constexpr uint16_t kMachine = EM_X86_64;
#elif defined(__aarch64__)
  constexpr uint16_t kMachine = EM_AARCH64;
#else
  const uint16_t kMachine = eh.e_machine;
#endif
  if (eh.e_machine != kMachine)
    return {
        "was built for another CPU architecture (ELF machine " + std::to_string(eh.e_machine) + ")",
        {}};

  // Section headers -> section name table -> ".posbench_plugin".
  if (eh.e_shoff == 0 || eh.e_shnum == 0 || eh.e_shentsize != sizeof(Elf64_Shdr) ||
      eh.e_shstrndx >= eh.e_shnum)
    return facts;  // no section table (e.g. sstrip'ed): no version found
  std::vector<Elf64_Shdr> sections(eh.e_shnum);
  if (!read_at(in, eh.e_shoff, sections.data(), sections.size()))
    return {"is a truncated or corrupt ELF file (section table)", {}};
  const Elf64_Shdr& names = sections[eh.e_shstrndx];
  if (names.sh_size > (64u << 20)) return {"is a corrupt ELF file (section names)", {}};
  std::string table(names.sh_size, '\0');
  if (!read_at(in, names.sh_offset, table.data(), table.size()))
    return {"is a truncated or corrupt ELF file (section names)", {}};
  for (const Elf64_Shdr& s : sections) {
    if (s.sh_name >= table.size() || std::strcmp(table.c_str() + s.sh_name, ".posbench_plugin"))
      continue;
    int32_t v = 0;
    if (s.sh_type != SHT_PROGBITS || s.sh_size < sizeof v || !read_at(in, s.sh_offset, &v))
      return {"has an unreadable .posbench_plugin section", {}};
    facts.version = v;
    break;
  }
  return facts;
}

// ---- step 3: dlopen errors -----------------------------------------------------------------

std::string demangle(const std::string& symbol) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(
      abi::__cxa_demangle(symbol.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : symbol;
}

std::string dlopen_problem(const std::string& error) {
  const std::string key = "undefined symbol: ";
  auto pos = error.find(key);
  if (pos == std::string::npos) return "cannot load: " + error;
  std::string symbol = error.substr(pos + key.size());
  if (auto comma = symbol.find(','); comma != std::string::npos) symbol.resize(comma);
  return "needs the symbol `" + demangle(symbol) +
         "`, which neither this posbench nor the plugin's own libraries define (was it built "
         "against another posbench, or does it miss a library in target_link_libraries?)";
}

// ---- step 4: what it registered --------------------------------------------------------------

template <class Info>
std::vector<std::string> added_names(const Registry<Info>& reg,
                                     const std::vector<std::string>& before) {
  std::vector<std::string> out;
  for (const auto& n : reg.names())
    if (!std::binary_search(before.begin(), before.end(), n)) out.push_back(n);
  return out;
}

// "registers the scheme name 'rope', which is already taken by A; choose another name".
template <class Info>
std::string duplicate_problem(const Registry<Info>& reg, const std::string& kind) {
  const Duplicate& d = reg.duplicates().front();
  return "registers the " + kind + " name '" + d.name + "', which is already taken by " +
         d.first_source + "; choose another name";
}

// The plugin's path becomes the registered source ("lib.so (linear_decay.cpp)").
template <class Info>
void set_source(Registry<Info>& reg, const std::vector<std::string>& names,
                const std::string& path) {
  for (const auto& n : names) {
    Info info = *reg.find(n);
    info.source = path + " (" + fs::path(info.source).filename().string() + ")";
    reg.remove(n);
    reg.add(std::move(info));
  }
}

struct LoadState {
  std::set<void*> loaded;
  std::map<void*, std::string> failed;  // handle -> the error it was refused with
  std::vector<std::string> paths;
};

LoadState& state() {
  static LoadState s;
  return s;
}

}  // namespace

void load_plugin(const std::string& given) {
  const std::string where = "plugin " + given + ": ";
  auto refuse = [&](const std::string& problem) { throw UserError(where + problem); };
  if (given.empty()) refuse("empty path; expected the path of a shared library (.so)");
  std::error_code ec;
  const fs::path path = fs::absolute(given, ec).lexically_normal();
  if (ec || !fs::exists(path, ec)) refuse("no such file");
  if (fs::is_directory(path, ec)) refuse("is a directory; expected a shared library (.so)");
  // Its path becomes the source of what it registers (`list --json`, results).
  require_utf8_path(path, "plugin");

  const ElfFacts elf = inspect_elf(path);
  if (!elf.problem.empty()) refuse(elf.problem);
  if (!elf.version)
    refuse(
        "declares no posbench interface version; add `POSBENCH_PLUGIN();` (from "
        "encoders/registry.h) to one of its source files");
  if (*elf.version != kInterfaceVersion)
    refuse("was built against plugin interface version " + std::to_string(*elf.version) +
           ", this posbench has version " + std::to_string(kInterfaceVersion) +
           "; rebuild it against this posbench's SDK");

  auto& encoders = EncoderRegistry::instance();
  auto& experiments = ExperimentRegistry::instance();
  // A duplicate already present is a bug in posbench's own build, not in this plugin.
  for (const auto* d : {&encoders.duplicates(), &experiments.duplicates()})
    if (!d->empty()) throw std::runtime_error(d->front().str());
  const auto enc_before = encoders.names();  // sorted
  const auto exp_before = experiments.names();

  // Static registrations run inside dlopen. RTLD_NOW: an unresolved symbol fails here rather
  // than crashing at its first call; RTLD_LOCAL: two plugins' own symbols never collide.
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    refuse(dlopen_problem(err ? err : "unknown dlopen error"));
  }
  LoadState& st = state();
  if (st.loaded.count(handle)) return;  // the same file again (dlopen did not rerun it)
  if (auto it = st.failed.find(handle); it != st.failed.end()) throw UserError(it->second);

  const auto enc_added = added_names(encoders, enc_before);
  const auto exp_added = added_names(experiments, exp_before);
  std::string problem;
  if (!encoders.duplicates().empty())
    problem = duplicate_problem(encoders, "scheme");
  else if (!experiments.duplicates().empty())
    problem = duplicate_problem(experiments, "experiment");
  else if (enc_added.empty() && exp_added.empty())
    problem =
        "registered no scheme and no experiment (a file-level EncoderRegistration or "
        "ExperimentRegistration object is expected in it)";
  if (!problem.empty()) {
    for (const auto& n : enc_added) encoders.remove(n);
    for (const auto& n : exp_added) experiments.remove(n);
    encoders.clear_duplicates();
    experiments.clear_duplicates();
    // The library stays mapped (no dlclose): its code may still be referenced, e.g. by the
    // destructors of its static objects at exit.
    st.failed[handle] = where + problem;
    refuse(problem);
  }
  set_source(encoders, enc_added, path.string());
  set_source(experiments, exp_added, path.string());
  st.loaded.insert(handle);
  st.paths.push_back(path.string());
}

std::vector<std::string> loaded_plugins() { return state().paths; }

}  // namespace posbench
