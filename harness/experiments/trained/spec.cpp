// Declared parameters and metrics of trained_extrapolation, without torch: registration.cpp
// declares them in every build, with or without the torch module, so `validate` checks a config
// the same way in both.
#include "harness/experiments/trained/spec.h"

#include "harness/experiments/trained/tasks.h"

namespace posbench::trained {

using nlohmann::json;

const char* const kDescription =
    "train a small transformer at task lengths <= train_length, test exact match at longer "
    "lengths (libtorch)";

std::vector<ParamSpec> param_specs() {
  return {
      ParamSpec::list_of("tasks", ParamSpec::choice("", "copy", task_names(), ""), json{"copy"},
                         "tasks to train, one model per task and scheme: copy, reverse, sort, "
                         "duplicate, addition, parity, lookup (see `n` in the docs)")
          .non_empty(),
      ParamSpec::integer("alphabet", 10, "symbols of copy/reverse/sort/duplicate/lookup")
          .at_least(2)
          .at_most(4096),
      ParamSpec::choice("digit_order", "lsb_first", {"lsb_first", "msb_first"},
                        "addition: order of the digits of both operands and of the sum"),
      ParamSpec::boolean("bos", true,
                         "a beginning-of-sequence token before every example (Kazemnejad et al. "
                         "2023: the fixed token a causal model reads absolute positions off)"),
      ParamSpec::integer("train_length", 8, "training lengths n are uniform in [1, train_length]")
          .at_least(1)
          .at_most(1 << 16),
      ParamSpec::number_list("eval_lengths", nullptr,
                             "task lengths n to evaluate, each >= train_length (default: "
                             "train_length x [1, 1.5, 2, 3, 4], rounded)"),
      ParamSpec::integer("eval_samples", 128, "examples per evaluated length").at_least(1),
      ParamSpec::integer("eval_batch", 64, "examples per evaluation batch").at_least(1),
      ParamSpec::integer("layers", 2, "transformer layers").at_least(1).at_most(64),
      ParamSpec::integer("d_model", 64, "model width").at_least(2).at_most(8192),
      ParamSpec::integer("heads", 4, "attention heads (divides d_model)").at_least(1),
      ParamSpec::integer("ff_mult", 4, "feed-forward width / d_model").at_least(1).at_most(64),
      ParamSpec::number("dropout", 0.0, "dropout rate").at_least(0).below(1),
      ParamSpec::integer("steps", 6000, "training steps").at_least(1),
      ParamSpec::integer("batch", 32, "examples per training step").at_least(1),
      ParamSpec::number("lr", 3e-3, "peak learning rate of AdamW").above(0),
      ParamSpec::integer("warmup_steps", 200, "linear warm-up steps, then cosine decay to 0")
          .at_least(0),
      ParamSpec::number("weight_decay", 0.01, "AdamW weight decay of the weight matrices")
          .at_least(0),
      ParamSpec::number("clip", 1.0, "gradient clipping (global norm; 0: none)").at_least(0),
      ParamSpec::choice("position_sampling", "contiguous", {"contiguous", "randomized"},
                        "contiguous: positions 0..T-1; randomized (Ruoss et al. 2023): a sorted "
                        "random subset of [0, max_position), in training and evaluation"),
      ParamSpec::integer("max_position", 2048, "randomized positions come from [0, max_position)")
          .at_least(1),
      ParamSpec::boolean("train_position_params", true,
                         "train the parameters of learned, t5, kerple and fire (init uniform); "
                         "false: every scheme frozen"),
      ParamSpec::boolean("checkpoint", false,
                         "write each trained model beside the results "
                         "(<results>.<i>.<label>.<task>.pt, torch::serialize)"),
  };
}

std::vector<MetricSpec> metric_specs() {
  return {
      {"position_params_trained", "1",
       "1 when the scheme's own parameters were trained (learned, t5, kerple, fire), 0 when "
       "it entered frozen",
       ""},
      {"<task>_exact_match_in_distribution", "1",
       "fraction of examples at n = train_length whose whole output is right (greedy)", ""},
      {"<task>_exact_match_2x", "1",
       "exact match at n = 2 x train_length (NaN if not "
       "evaluated or unsupported)",
       ""},
      {"<task>_exact_match_longest", "1", "exact match at the longest evaluated length", ""},
      {"<task>_longest_length_em90", "n",
       "the longest evaluated length with exact match >= 0.9 (0: none)", ""},
      {"<task>_final_train_loss", "nats",
       "mean training cross-entropy over the output tokens in the last loss interval", ""},
      {"<task>_steps_per_second", "steps/s", "training steps per second (wall time)", ""},
      {"<task>_parameter_count", "parameters",
       "trainable parameters of the model, position parameters included", ""},
  };
}

}  // namespace posbench::trained
