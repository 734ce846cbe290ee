#pragma once
// Experiments: each one file in harness/experiments/, registered like the encoders. An
// experiment computes plain structs (metrics, curves); reporters (console, JSON) format them.

#include <cstdint>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "encoders/registry.h"

namespace posbench {

struct EncoderReference;

// One encoder as configured in an experiment.
struct EncoderInstance {
  std::string name;   // registry key
  std::string label;  // unique within the experiment (defaults to name)
  std::string path;   // config path, e.g. "experiments[0].encoders[1]"
  int version = 1;
  Family family = Family::additive;
  nlohmann::json params;  // resolved (defaults filled in)
  std::shared_ptr<const Encoder> encoder;
  // The entry's "reference" (the pretrained scheme it is compared with), null when not given.
  // Only experiments whose takes_reference() is true accept one.
  std::shared_ptr<const EncoderReference> reference;
};

// An encoder entry's "reference": {"name": ..., "params": {...}, "length": L}, the pretrained
// scheme and its original context length (path "<entry>.reference"; label = name).
struct EncoderReference {
  EncoderInstance encoder;
  int64_t length = 0;
};

struct Metric {
  std::string name;                                         // snake_case
  double value = std::numeric_limits<double>::quiet_NaN();  // NaN is written as null
  std::string unit;  // "1" for dimensionless, "GB/s", "ns", "positions", ...
  // Where along the experiment's axis the value is taken, e.g. "n=8192" (a length) or "r=4096"
  // (a distance); "" when it is not taken at one point. The console prints "name@at".
  std::string at = {};
};

// The declaration of a metric an experiment reports: `posbench describe` prints it, `describe
// --json` and the results carry it. `name` may hold placeholders in angle brackets standing for
// one or more characters, e.g. "<operation>_t<threads>_median_ms" (see matches()).
struct MetricSpec {
  std::string name;
  std::string unit;      // as in Metric::unit; may name a per-family unit ("logit (additive: 1)")
  std::string meaning;   // one line: what the number says
  std::string expected;  // the value for the classic schemes where one exists ("" if none), e.g.
                         // "sinusoidal, rope: ~0 (rounding)"
  bool matches(const std::string& metric_name) const;
  nlohmann::json to_json() const;
};

// The declaration in `specs` that `metric_name` matches (nullptr if none).
const MetricSpec* find_metric(const std::vector<MetricSpec>& specs, const std::string& metric_name);

// Data for a plot: y(x), e.g. residual per offset.
struct Curve {
  std::string name;
  std::string x_name, x_unit, y_unit;
  std::vector<double> x, y;
};

enum class Status { ok, not_applicable, unsupported };
const char* to_string(Status status);

struct EncoderOutcome {
  std::string label;
  Status status = Status::ok;
  std::string note;  // why not applicable / unsupported, or a remark
  std::vector<Metric> metrics;
  std::vector<Curve> curves;
  nlohmann::json extra = nlohmann::json::object();  // experiment-specific detail
};

// A file an experiment produces besides its results (e.g. Google Benchmark's own JSON). The
// experiment only hands it over: the CLI writes side files after the results file, so a run
// that fails or is interrupted leaves no file behind.
struct SideFile {
  std::string path;  // "<RunContext::artifact_prefix>.<name>"
  std::string content;
};

// A table of numbers the console prints below an experiment's summary, for values along an
// axis: one row per label (e.g. scheme), one column per header (e.g. "n=8192", so the length
// of a value is in its header). NaN prints as "-". The JSON results do not repeat it: its
// numbers are in the outcomes' curves and extra.
struct ConsoleTable {
  std::string title;                       // what a cell is, with its unit
  std::string row_header = "scheme";       // header of the label column
  std::vector<std::string> columns;        // one header per value column
  std::vector<std::string> rows;           // one label per row
  std::vector<std::vector<double>> cells;  // [row][column]
  std::vector<std::string> notes;          // lines printed under the table (e.g. a ranking)
  int significant_digits = 4;              // of a cell that is not an integer
};

struct ExperimentResult {
  std::vector<EncoderOutcome> outcomes;             // one per encoder, in config order
  nlohmann::json extra = nlohmann::json::object();  // e.g. bandwidth probe, machine ISA
  std::vector<std::string> summary_columns;         // metrics shown in the console table ({} = all)
  std::string summary_title;         // printed above the summary table, e.g. at which length it is
  std::vector<ConsoleTable> tables;  // printed below the summary table
  std::vector<SideFile> side_files;  // written only once the whole run succeeded
};

struct RunContext {
  uint64_t seed = 0;
  int threads = 1;              // OpenMP threads the run may use
  uint64_t max_memory = 0;      // bytes
  std::string artifact_prefix;  // names of side files ("<results>.<i>"; see SideFile)
};

class Experiment {
 public:
  virtual ~Experiment() = default;

  // Throws UserError (path relative to the params) if this encoder cannot take part (e.g. odd dim
  // for rope). Called by `validate` and before `run`. Default: encoder.check_shape(dim(), heads()).
  virtual void check(const EncoderInstance& enc) const = 0;

  // Peak bytes this experiment allocates for `enc`; the memory guard refuses to start a run
  // that would need more than --max-memory. A count that overflows 64 bits must be returned as
  // the largest uint64 (never wrapped), so the guard refuses it.
  virtual uint64_t memory_bytes(const EncoderInstance& enc) const = 0;

  // Estimated seconds a run on `enc` takes on one core of an ordinary machine: what `posbench
  // plan` shows as a unit's cost and `run --shard` balances shards by (longest first), so a
  // guess within a factor of a few is enough; only its order across units matters much. It
  // must not run anything. Default: 1 ns per byte memory_bytes(enc) counts (most experiments
  // touch what they allocate a bounded number of times); each unit adds 10 ms of its own start
  // (harness/run/units.h). Override it
  // when the time is not tied to the memory: timed loops (speed: benchmarks x repetitions x
  // min_time), fits repeated over samples (position_probe), training steps.
  virtual double estimated_seconds(const EncoderInstance& enc) const;

  // Reads the data files its params name (e.g. content vectors from a .npy), whose headers the
  // factory checked: `run` calls it once, on one thread, before any run_all; `validate` never
  // does. Throws UserError (path relative to the params). Default: nothing to read.
  virtual void load() const {}

  // Whether an encoder entry may carry a "reference" (a pretrained scheme to compare with).
  // Default false: the config refuses the key.
  virtual bool takes_reference() const { return false; }

  // Throws UserError if `ref` cannot serve as the reference of `enc` here (paths relative to
  // the reference entry: "" for the entry, "length", "params.base"). Called by `validate` and
  // before `run`, after check(enc) and check(ref.encoder), only when takes_reference().
  virtual void check_reference(const EncoderInstance& enc, const EncoderReference& ref) const;

  // Runs on one encoder. Experiments that need all encoders at once override run_all.
  virtual EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const = 0;
  // Default: run() on each encoder (an UnsupportedPosition makes its outcome "unsupported"),
  // then summarize().
  virtual ExperimentResult run_all(const std::vector<EncoderInstance>& encoders,
                                   const RunContext& ctx) const;

  // What run_all adds once every encoder's outcome is in (`r.outcomes`, one per encoder in
  // config order): summary columns and title, console tables, experiment-wide extra (e.g. a
  // ranking). It must use only `encoders`, `r` and the experiment's own params. Default: nothing.
  virtual void summarize(const std::vector<EncoderInstance>& encoders, ExperimentResult& r) const;

  // True when run_all(encoders) equals run() on each encoder alone followed by summarize() (the
  // default run_all): a run may then be split into one unit per encoder (posbench plan, run
  // --shard, --resume; harness/run/units.h). False (the default, safe for an experiment that
  // overrides run_all): its encoders always run together, as one unit.
  virtual bool encoders_separable() const { return false; }
};

// run() on one encoder as the default run_all does it: an UnsupportedPosition makes the outcome
// "unsupported" with the exception's message as note; the label is the encoder's.
EncoderOutcome run_one(const Experiment& experiment, const EncoderInstance& enc,
                       const RunContext& ctx);

struct ExperimentInfo {
  std::string name;  // the config `type`
  std::string description;
  std::vector<ParamSpec> params;
  // The metrics it reports (name, unit, meaning, expected value). A plugin experiment may leave
  // this empty; every built-in experiment declares each metric it reports.
  std::vector<MetricSpec> metrics = {};
  // Builds from resolved params; throws UserError for cross-field problems.
  std::function<std::unique_ptr<Experiment>(const Params&)> factory;
  std::string source = "?";
};

using ExperimentRegistry = Registry<ExperimentInfo>;

struct ExperimentRegistration {
  explicit ExperimentRegistration(ExperimentInfo info, const char* source = __builtin_FILE()) {
    if (info.source == "?") info.source = source;
    ExperimentRegistry::instance().add(std::move(info));
  }
};

}  // namespace posbench
