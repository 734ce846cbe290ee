#include "harness/cli/plot_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>

#include "encoders/error.h"

extern char** environ;

namespace fs = std::filesystem;

namespace posbench {

namespace {

// The directory holding the posbench package (see the header for the order), or nullopt.
std::optional<fs::path> package_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  std::vector<fs::path> candidates;
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / POSBENCH_INSTALL_PYTHON_DIR);
  candidates.push_back(POSBENCH_SOURCE_PYTHON_DIR);
  for (const auto& dir : candidates)
    if (fs::is_regular_file(dir / "posbench" / "plot.py", ec)) return dir;
  return std::nullopt;
}

// Runs argv (argv[0] looked up on PATH unless it holds a '/') and waits. Returns the exit
// code, 127 when it could not be started, 128 + signal when killed. quiet: stdout and stderr
// go to /dev/null.
int spawn_and_wait(const std::vector<std::string>& args, bool quiet) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) {
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  }
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) return 127;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return 127;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

// The first interpreter that imports matplotlib. Throws UserError naming the Debian package.
std::string find_python() {
  std::vector<std::string> candidates;
  if (const char* forced = std::getenv("POSBENCH_PYTHON"); forced && *forced)
    candidates.push_back(forced);
  else
    candidates = {"python3", "/usr/bin/python3"};
  std::string tried, without_matplotlib;
  for (const auto& py : candidates) {
    tried += (tried.empty() ? "" : ", ") + py;
    const int rc = spawn_and_wait({py, "-c", "import matplotlib"}, true);
    if (rc == 0) return py;
    if (rc != 127) without_matplotlib += (without_matplotlib.empty() ? "" : ", ") + py;
  }
  if (without_matplotlib.empty())
    throw UserError("python3 not found (tried " + tried +
                    "); the figures need it with matplotlib: install them with `apt-get install "
                    "python3-matplotlib` (or set POSBENCH_PYTHON to an interpreter that has it)");
  throw UserError("matplotlib cannot be imported by " + without_matplotlib +
                  ": install it with `apt-get install python3-matplotlib` (or set "
                  "POSBENCH_PYTHON to an interpreter that has it)");
}

}  // namespace

void add_python_commands(CLI::App& app, PythonCommands& c) {
  c.plot = app.add_subcommand("plot", "draw every figure of a results file (matplotlib)");
  c.plot->add_option("RESULTS", c.results, "results JSON file")->required();
  c.plot->add_option("-o,--output", c.output, "directory (default <RESULTS stem>-figures)");
  c.plot->add_option("--format", c.formats, "png, pdf, svg or a list: png,svg (default png)");
  c.report = app.add_subcommand("report", "one self-contained HTML page of a results file");
  c.report->add_option("RESULTS", c.results, "results JSON file")->required();
  c.report->add_option("-o,--output", c.output, "the HTML file")->required();
}

int run_python_commands(const PythonCommands& c) {
  const bool plot = c.plot && c.plot->parsed(), report = c.report && c.report->parsed();
  if (!plot && !report) return -1;
  const auto dir = package_dir();
  if (!dir)
    throw std::runtime_error(std::string("the Python package posbench is missing: looked in ") +
                             "<binary>/../" + POSBENCH_INSTALL_PYTHON_DIR + " and " +
                             POSBENCH_SOURCE_PYTHON_DIR);
  // The package first on the path; the user's PYTHONPATH stays after it. No .pyc files are
  // written into the (source or install) tree.
  const char* old = std::getenv("PYTHONPATH");
  const std::string path = dir->string() + (old && *old ? ":" + std::string(old) : "");
  setenv("PYTHONPATH", path.c_str(), 1);
  setenv("PYTHONDONTWRITEBYTECODE", "1", 1);
  const std::string python = find_python();
  std::vector<std::string> args = {python, "-m", plot ? "posbench.plot" : "posbench.report",
                                   c.results};
  if (!c.output.empty()) args.insert(args.end(), {"-o", c.output});
  if (plot && !c.formats.empty()) args.insert(args.end(), {"--format", c.formats});
  const int rc = spawn_and_wait(args, false);
  if (rc == 127) throw std::runtime_error("could not start " + python);
  return rc;
}

}  // namespace posbench
