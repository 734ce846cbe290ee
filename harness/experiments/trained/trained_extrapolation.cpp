// trained_extrapolation — train a small transformer at short lengths, test it at long lengths
// (Press et al. 2022, ALiBi: "train short, test long"; Kazemnejad et al. 2023, NoPE; Ruoss et al.
// 2023, randomized positional encodings), with every scheme of the config entering the model
// through its family (model.h): trainable counterparts for learned, t5, kerple and fire (unless
// `train_position_params` is false), every other scheme frozen.
// Per task (tasks.h says what the length n means) and scheme: one model, trained on n uniform in
// [1, train_length] (trainer.h), then evaluated at every eval length n on `eval_samples` fresh
// examples (the same for every scheme): exact match (all output tokens right, = greedy decoding)
// and token accuracy. A length at which the scheme cannot produce a position (learned with
// out_of_range "error" past max_len) is unsupported there (NaN, with a note), not a failure.
// Same config and seed give identical curves at any --threads (the model, the data and the
// positions are seeded from the config seed; each training runs torch on one thread, and
// --threads trainings run at once, see run_all).
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "encoders/checked_size.h"
#include "encoders/experiment.h"
#include "harness/experiments/trained/spec.h"
#include "harness/experiments/trained/trainer.h"

namespace posbench::trained {
namespace {

using nlohmann::json;

// Training progress on stderr: rewritten in place on a terminal, a line every 10% (or 30 s)
// when piped or when several trainings run at once.
class Progress {
 public:
  // in_place: the only training running, so it may rewrite its line on a terminal.
  Progress(std::string what, int64_t steps, bool in_place)
      : what_(std::move(what)),
        steps_(steps),
        tty_(in_place && isatty(fileno(stderr)) != 0),
        start_(std::chrono::steady_clock::now()),
        last_(start_) {}
  void operator()(int64_t step, double loss) {
    const auto now = std::chrono::steady_clock::now();
    const double since = std::chrono::duration<double>(now - last_).count();
    const bool last = step + 1 == steps_;
    const bool tenth = (step + 1) % std::max<int64_t>(1, steps_ / 10) == 0;
    if (!(tty_ ? since > 0.25 || last : tenth || since > 30 || last)) return;
    last_ = now;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    const double eta = elapsed / double(step + 1) * double(steps_ - step - 1);
    fmt::print(stderr, "{}trained_extrapolation: {} step {}/{} loss {:.4f} ETA {:.0f}s{}",
               tty_ ? "\r" : "", what_, step + 1, steps_, loss, eta,
               tty_ ? (last ? "\n" : "   ") : "\n");
    std::fflush(stderr);
  }

 private:
  std::string what_;
  int64_t steps_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
};

bool has_trainable_counterpart(const EncoderInstance& enc) {
  if (enc.name == "learned" || enc.name == "t5" || enc.name == "kerple") return true;
  return enc.name == "fire" && enc.params.value("init", "") == "uniform";
}

class TrainedExtrapolation final : public Experiment {
 public:
  explicit TrainedExtrapolation(const Params& p)
      : alphabet_(p.integer("alphabet")),
        lsb_first_(p.string("digit_order") == "lsb_first"),
        bos_(p.boolean("bos")),
        samples_(p.integer("eval_samples")),
        eval_batch_(p.integer("eval_batch")),
        train_params_(p.boolean("train_position_params")),
        checkpoint_(p.boolean("checkpoint")) {
    for (const auto& t : p.strings("tasks")) tasks_.push_back(task_from_name(t));
    model_ = {TaskSpec{TaskKind::copy, alphabet_, true, bos_}.vocab(),
              p.integer("layers"),
              p.integer("d_model"),
              p.integer("heads"),
              p.integer("ff_mult"),
              p.number("dropout")};
    if (model_.d_model % model_.heads != 0)
      throw UserError("heads", fmt::format("got {}, which does not divide d_model = {}; expected "
                                           "a divisor of d_model",
                                           model_.heads, model_.d_model));
    train_.train_length = p.integer("train_length");
    train_.steps = p.integer("steps");
    train_.batch = p.integer("batch");
    train_.warmup_steps = p.integer("warmup_steps");
    train_.lr = p.number("lr");
    train_.weight_decay = p.number("weight_decay");
    train_.clip = p.number("clip");
    train_.sampling = {p.string("position_sampling") == "randomized", p.integer("max_position")};
    if (train_.warmup_steps > train_.steps)
      throw UserError("warmup_steps", fmt::format("got {}, expected at most steps = {}",
                                                  train_.warmup_steps, train_.steps));
    const int64_t L = train_.train_length;
    if (p.has("eval_lengths")) {
      for (double v : p.numbers("eval_lengths")) {
        if (v != std::floor(v) || v < double(L))
          throw UserError(
              "eval_lengths",
              fmt::format("has {}, expected integer lengths >= train_length = {}", show(v), L));
        lengths_.push_back(int64_t(v));
      }
    } else {
      for (double f : {1.0, 1.5, 2.0, 3.0, 4.0}) lengths_.push_back(int64_t(std::lround(f * L)));
    }
    lengths_.push_back(L);  // in-distribution is always evaluated
    std::sort(lengths_.begin(), lengths_.end());
    lengths_.erase(std::unique(lengths_.begin(), lengths_.end()), lengths_.end());
    if (train_.sampling.randomized && train_.sampling.max_position < longest_sequence())
      throw UserError(
          "max_position",
          fmt::format("got {}, but the longest sequence has {} tokens; expected "
                      "max_position >= {} (randomized positions are a subset of "
                      "[0, max_position))",
                      train_.sampling.max_position, longest_sequence(), longest_sequence()));
  }

  void check(const EncoderInstance& enc) const override {
    const int64_t hd = model_.d_model / model_.heads;
    enc.encoder->check_shape(enc.family == Family::rotary ? hd : model_.d_model, model_.heads);
  }

  // Model, gradients and AdamW's two moments (4 copies of the parameters), the activations a
  // training step keeps for backward, and an evaluation batch at the longest length.
  uint64_t memory_bytes(const EncoderInstance& enc) const override {
    const int64_t d = model_.d_model, V = model_.vocab, H = model_.heads, f = model_.ff_mult;
    CheckedSize params = CheckedSize(V) * d * 2 + V + 2 * d;
    params += CheckedSize(model_.layers) * (CheckedSize(d) * d * (4 + 2 * f) + d * (9 + f));
    if (enc.name == "learned") params += CheckedSize(enc.params.value("max_len", 0)) * d;
    auto activations = [&](int64_t B, int64_t T) {
      const int64_t R = train_.sampling.randomized ? B : 1;
      CheckedSize per_layer = CheckedSize(B) * T * (CheckedSize(d) * (12 + 3 * f) + H * T * 4);
      CheckedSize a = per_layer * model_.layers + CheckedSize(B) * T * V * 4;
      a += CheckedSize(R) * H * T * T * 2;  // the bias (and its gradient)
      if (enc.name == "fire") a += CheckedSize(R) * T * T * enc.params.value("hidden", 32) * 4;
      return a;
    };
    const int64_t t_train = longest_train_sequence(), t_eval = longest_sequence();
    const CheckedSize act_train = activations(train_.batch, t_train);
    const CheckedSize act_eval = activations(std::min(eval_batch_, samples_), t_eval);
    const uint64_t act = std::max(act_train.saturated(), act_eval.saturated());
    return ((params * 4 + act) * 4).saturated();
  }

  EncoderOutcome run(const EncoderInstance& enc, const RunContext& ctx) const override {
    return run_all({enc}, ctx).outcomes.at(0);
  }

  ExperimentResult run_all(const std::vector<EncoderInstance>& encoders,
                           const RunContext& ctx) const override {
    // One torch thread per training whatever --threads says: torch's parallel kernels split sums
    // by thread count, so the curves changed in their last digits between 1 and 2 threads (the
    // shipped suites must not; tests/harness/run/runner_thread_count_test.cpp), and this small
    // model gains little from a second thread. --threads instead trains that many (task, scheme)
    // pairs at once, each on its own thread: every training is seeded on its own (run_task), so
    // the numbers do not depend on the thread count or on the order the pairs finish in.
    set_threads(1);
    ExperimentResult r;
    r.extra["torch_threads"] = 1;
    for (const auto& enc : encoders) {
      EncoderOutcome o;
      o.label = enc.label;
      const bool trained = train_params_ && has_trainable_counterpart(enc);
      o.extra["position_params"] = trained ? "trained" : "frozen";
      o.extra["train_length"] = train_.train_length;
      o.metrics.push_back({"position_params_trained", trained ? 1.0 : 0.0, "1"});
      r.outcomes.push_back(std::move(o));
    }
    // Every (task, scheme) pair is one job; its outcome is merged in config order afterwards.
    const size_t E = encoders.size(), jobs = tasks_.size() * E;
    std::vector<TaskOutcome> done(jobs);
    // The memory guard checked one training per scheme; trainings that run at once add up, so
    // no more run at once than fit in --max-memory together (the guard ensures one does).
    uint64_t per_job = 1;
    for (const auto& enc : encoders) per_job = std::max(per_job, memory_bytes(enc));
    const uint64_t fit =
        ctx.max_memory == 0 ? jobs : std::max<uint64_t>(1, ctx.max_memory / per_job);
    const int threads = int(std::min<uint64_t>(uint64_t(std::max(1, ctx.threads)), fit));
    run_jobs(jobs, threads, [&](size_t j, bool in_place) {
      const TaskSpec task{tasks_[j / E], alphabet_, lsb_first_, bos_};
      done[j] = run_task(task, encoders[j % E], ctx, in_place);
    });
    for (size_t t = 0; t < tasks_.size(); ++t) {
      ConsoleTable table;
      table.title = fmt::format("{}: exact match by length n (train_length {}, {} positions)",
                                to_string(tasks_[t]), train_.train_length,
                                train_.sampling.randomized ? "randomized" : "contiguous");
      for (int64_t n : lengths_) table.columns.push_back(fmt::format("n={}", n));
      for (size_t e = 0; e < E; ++e) {
        TaskOutcome& d = done[t * E + e];
        EncoderOutcome& o = r.outcomes[e];
        o.metrics.insert(o.metrics.end(), d.metrics.begin(), d.metrics.end());
        o.curves.insert(o.curves.end(), d.curves.begin(), d.curves.end());
        if (!d.parameter_count.is_null()) o.extra["parameter_count"] = d.parameter_count;
        if (!d.unsupported.is_null()) o.extra["unsupported"][to_string(tasks_[t])] = d.unsupported;
        if (d.training_unsupported) o.status = Status::unsupported, o.note = d.note;
        if (d.side) r.side_files.push_back(std::move(*d.side));
        table.rows.push_back(encoders[e].label);
        table.cells.push_back(std::move(d.exact_match));
      }
      r.tables.push_back(std::move(table));
    }
    for (TaskKind kind : tasks_) {
      const std::string t = to_string(kind);
      for (const char* m : {"_exact_match_in_distribution", "_exact_match_2x",
                            "_exact_match_longest", "_longest_length_em90"})
        r.summary_columns.push_back(t + m);
    }
    r.summary_title = fmt::format("trained at n <= {}, evaluated up to n = {}", train_.train_length,
                                  lengths_.back());
    return r;
  }

 private:
  int64_t longest_train_sequence() const {
    int64_t m = 0;
    for (TaskKind k : tasks_)
      m = std::max(m, TaskSpec{k, alphabet_, true, bos_}.sequence_length(train_.train_length));
    return m;
  }
  int64_t longest_sequence() const {
    int64_t m = 0;
    for (TaskKind k : tasks_)
      m = std::max(m, TaskSpec{k, alphabet_, true, bos_}.sequence_length(lengths_.back()));
    return m;
  }

  // What one (task, scheme) training adds to the scheme's outcome.
  struct TaskOutcome {
    std::vector<Metric> metrics;
    std::vector<Curve> curves;
    json parameter_count, unsupported;  // null: nothing to add
    bool training_unsupported = false;
    std::string note;
    std::vector<double> exact_match;  // per length, NaN where unsupported
    std::optional<SideFile> side;
  };

  // Runs job(j, in_place) for j in [0, jobs) on up to `threads` threads (one: on this thread, in
  // order). in_place: progress may rewrite its terminal line (one training at a time). Dropout
  // draws from torch's global generator during training, so with dropout the jobs run in order.
  template <class F>
  void run_jobs(size_t jobs, int threads, F job) const {
    const size_t workers = model_.dropout > 0 ? 1 : std::min(jobs, size_t(std::max(1, threads)));
    if (workers <= 1) {
      for (size_t j = 0; j < jobs; ++j) job(j, true);
      return;
    }
    std::atomic<size_t> next{0};
    std::vector<std::exception_ptr> errors(workers);
    std::vector<std::thread> pool;
    for (size_t w = 0; w < workers; ++w)
      pool.emplace_back([&, w] {
        try {
          for (size_t j; (j = next++) < jobs;) job(j, false);
        } catch (...) {
          errors[w] = std::current_exception();
          next = jobs;  // the others stop after their current job
        }
      });
    for (auto& t : pool) t.join();
    for (const auto& e : errors)
      if (e) std::rethrow_exception(e);
  }

  // Trains and evaluates one scheme on one task.
  TaskOutcome run_task(const TaskSpec& task, const EncoderInstance& enc, const RunContext& ctx,
                       bool in_place) const {
    const std::string t = to_string(task.kind);
    const bool trainable = train_params_ && has_trainable_counterpart(enc);
    TaskOutcome out;
    std::optional<Transformer> built;
    {
      // The same transformer initialisation for every scheme and task: torch's global generator,
      // reseeded, drawn from by one job at a time.
      static std::mutex init;
      const std::lock_guard<std::mutex> lock(init);
      torch::manual_seed(ctx.seed);
      built.emplace(model_, make_injector({enc.name, enc.params, enc.encoder}, model_.d_model,
                                          model_.heads, trainable));
    }
    Transformer& model = *built;
    out.parameter_count = model->parameter_count();
    TrainOptions opt = train_;
    opt.seed = ctx.seed;
    out.exact_match.assign(lengths_.size(), std::nan(""));
    std::vector<double> acc = out.exact_match;
    std::vector<double>& em = out.exact_match;
    TrainResult tr;
    try {
      Progress progress(t + " " + enc.label, opt.steps, in_place);
      tr = train(model, task, opt, [&](int64_t s, double l) { progress(s, l); });
    } catch (const UnsupportedPosition& e) {
      out.unsupported = std::string("training: ") + e.what();
      out.training_unsupported = true;
      out.note = e.what();
      return out;
    }
    std::vector<std::string> unsupported;
    for (size_t i = 0; i < lengths_.size(); ++i) try {
        const EvalResult ev =
            evaluate(model, task, lengths_[i], samples_, eval_batch_, opt.sampling, ctx.seed);
        em[i] = ev.exact_match;
        acc[i] = ev.token_accuracy;
      } catch (const UnsupportedPosition& e) {
        unsupported.push_back(fmt::format("n={}: {}", lengths_[i], e.what()));
      }
    if (!unsupported.empty()) out.unsupported = unsupported;
    const int64_t L = train_.train_length;
    auto at = [&](int64_t n) {
      for (size_t i = 0; i < lengths_.size(); ++i)
        if (lengths_[i] == n) return em[i];
      return std::nan("");
    };
    int64_t longest_ok = 0;  // the longest length whose exact match is >= 0.9
    for (size_t i = 0; i < lengths_.size(); ++i)
      if (em[i] >= 0.9) longest_ok = lengths_[i];
    auto& m = out.metrics;
    m.push_back({t + "_exact_match_in_distribution", at(L), "1", fmt::format("n={}", L)});
    m.push_back({t + "_exact_match_2x", at(2 * L), "1", fmt::format("n={}", 2 * L)});
    m.push_back({t + "_exact_match_longest", em.back(), "1", fmt::format("n={}", lengths_.back())});
    m.push_back({t + "_longest_length_em90", double(longest_ok), "n"});
    m.push_back({t + "_final_train_loss", tr.final_loss, "nats"});
    m.push_back({t + "_steps_per_second", tr.steps_per_second, "steps/s"});
    m.push_back({t + "_parameter_count", double(model->parameter_count()), "parameters"});
    std::vector<double> x(lengths_.begin(), lengths_.end());
    out.curves.push_back({t + "_exact_match", "n", "task length", "1", x, em});
    out.curves.push_back({t + "_token_accuracy", "n", "task length", "1", x, acc});
    out.curves.push_back({t + "_train_loss", "step", "steps", "nats", tr.steps, tr.losses});
    if (checkpoint_ && !ctx.artifact_prefix.empty()) {
      std::ostringstream bytes;
      torch::serialize::OutputArchive archive;
      model->save(archive);
      archive.save_to(bytes);
      out.side =
          SideFile{fmt::format("{}.{}.{}.pt", ctx.artifact_prefix, enc.label, t), bytes.str()};
    }
    return out;
  }

  std::vector<TaskKind> tasks_;
  int64_t alphabet_;
  bool lsb_first_;
  bool bos_;
  int64_t samples_, eval_batch_;
  bool train_params_, checkpoint_;
  ModelOptions model_;
  TrainOptions train_;
  std::vector<int64_t> lengths_;  // sorted, unique, train_length first
};

}  // namespace
}  // namespace posbench::trained

// The module's one entry point: registration.cpp (torch-free, in every posbench) registers the
// experiment and calls this through dlsym after loading the module, or directly where the module
// is linked in. The caller owns the result.
extern "C" __attribute__((visibility("default"))) posbench::Experiment* posbench_trained_create(
    const posbench::Params& params) {
  return new posbench::trained::TrainedExtrapolation(params);
}
