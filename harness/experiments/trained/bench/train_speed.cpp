// posbench_train_speed: training steps per second of trained_extrapolation's default model
// (layers 2, d_model 64, heads 4, ff_mult 4, rope, copy at train_length 8, batch 32, AdamW,
// clipping) with the C++ trainer. python/benchmarks/train_speed.py runs it next to the same model
// written in PyTorch Python and prints both and their ratio. Not a test: a benchmark.
//   posbench_train_speed [steps] [threads] [warmup_steps_untimed]
// prints one JSON object {"steps_per_second": ..., "cpu_steps_per_second": ..., ...} on stdout:
// steps per second of wall time, and per second of this process's CPU time (user + sys).
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "encoders/registry.h"
#include "harness/experiments/trained/trainer.h"

using namespace posbench;
using namespace posbench::trained;

// CPU time of this process (every thread, user + sys), in seconds.
static double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::atoll(argv[1]) : 200;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int64_t untimed = argc > 3 ? std::atoll(argv[3]) : 20;
  const bool openblas = set_threads(threads);
  const EncoderInfo& info = EncoderRegistry::instance().get("rope", "encoder");
  Diagnostics diag;
  const nlohmann::json params = resolve_params(info.params, nlohmann::json::object(), "", diag);
  const SchemeRef rope{"rope", params,
                       std::shared_ptr<const Encoder>(info.factory(Params(params)))};
  ModelOptions mo;  // the experiment's defaults
  torch::manual_seed(0);
  Transformer model(mo, make_injector(rope, mo.d_model, mo.heads, false));
  const TaskSpec copy{TaskKind::copy, 10, true, true};  // with BOS, as the experiment
  TrainOptions o;  // the experiment's defaults: train_length 8, batch 32, lr 3e-3, clip 1
  o.steps = untimed;
  o.warmup_steps = 1;
  train(model, copy, o);  // warm-up (allocator, caches), untimed
  o.steps = steps;
  const double cpu0 = cpu_seconds();
  const TrainResult r = train(model, copy, o);
  const double cpu = cpu_seconds() - cpu0;
  fmt::print(
      "{{\"steps_per_second\": {}, \"cpu_steps_per_second\": {}, \"steps\": {}, "
      "\"threads\": {}, \"seconds\": {}, \"cpu_seconds\": {}, \"parameters\": {}, "
      "\"openblas_threads_set_to_1\": {}}}\n",
      r.steps_per_second, double(steps) / cpu, steps, threads, r.seconds, cpu,
      model->parameter_count(), openblas);
}
