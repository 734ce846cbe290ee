#pragma once
// Training and evaluation of one model on one task (libtorch).
//   Training: each example's length n uniform in [1, train_length], AdamW, linear warm-up over
//   warmup_steps then cosine decay to 0 at `steps`, gradient clipping at `clip` (global norm).
//   Loss: mean cross-entropy over the output tokens of the batch (tasks.h's loss mask).
//   Positions: contiguous 0..T-1, or randomized (Ruoss et al. 2023): per example a sorted uniform
//   random subset of [0, max_position) of size T, in training and in evaluation.
//   Evaluation at length n: `samples` examples; exact match = the fraction whose every output
//   token is the argmax of the teacher-forced logits (equal to greedy decoding: the first wrong
//   argmax is where greedy decoding leaves the target), token accuracy = the fraction of output
//   tokens that are.
#include <functional>
#include <string>
#include <vector>

#include "harness/experiments/trained/model.h"
#include "harness/experiments/trained/tasks.h"

namespace posbench::trained {

struct PositionSampling {
  bool randomized = false;
  int64_t max_position = 0;  // randomized: positions from [0, max_position)
};

// Defaults: those of the experiment (spec.cpp).
struct TrainOptions {
  int64_t train_length = 8, steps = 6000, batch = 32, warmup_steps = 200;
  double lr = 3e-3, weight_decay = 0.01, clip = 1.0;
  PositionSampling sampling;
  uint64_t seed = 0;
  int64_t loss_points = 100;  // training-loss curve: about this many points (means of intervals)
};

struct TrainResult {
  std::vector<double> steps, losses;  // the curve: step at the end of each interval, mean loss
  double final_loss = 0;              // mean loss of the last interval
  double seconds = 0, steps_per_second = 0;
};

// Called after every step with (step index, loss of the step).
using TrainProgress = std::function<void(int64_t, double)>;

// Intra-op threads for torch = `threads`; OpenBLAS (which Debian's libtorch calls for matmul
// through libblas.so.3) to 1 thread when it is the BLAS loaded: its worker threads spin in
// sched_yield between the model's small products, which halved the steps per second here; and
// glibc's malloc to keep freed memory (see trainer.cpp). Returns whether OpenBLAS was found.
bool set_threads(int threads);

// The learning rate of step s (0-based): lr * (s + 1) / warmup for s < warmup, then
// lr * (1 + cos(pi * (s - warmup) / (steps - warmup))) / 2.
double learning_rate(const TrainOptions& o, int64_t step);

// Positions for `rows` sequences of length T.
Positions sample_positions(const PositionSampling& s, int64_t rows, int64_t T, Rng& rng);

// Masked mean cross-entropy of logits [B, T, V] against the batch's targets: the training loss
// written plainly on the padded forward, the reference training_loss is tested against.
torch::Tensor masked_loss(const torch::Tensor& logits, const Batch& batch);

// The training loss: masked_loss(model->forward(inputs, pos), batch), computed on the batch's
// real cells only (model.h's Packing) and the output head on the output tokens only.
torch::Tensor training_loss(Transformer& model, const Batch& batch, const Positions& pos);

TrainResult train(Transformer& model, const TaskSpec& task, const TrainOptions& o,
                  const TrainProgress& progress = {});

struct EvalResult {
  double exact_match = 0, token_accuracy = 0;
};

// Per example of `examples` (all of one length), whether teacher-forced argmax reproduces every
// output token; `correct_tokens` (optional) gets the number of correct output tokens.
std::vector<bool> teacher_forced_exact(Transformer& model, const std::vector<Example>& examples,
                                       const Positions& pos, int64_t* correct_tokens = nullptr);

// Greedy decoding: from the prompt tokens[0, output_start), append argmax tokens one at a time
// (recomputing the whole prefix), `count` of them, with positions pos.rows[0] (one row).
std::vector<int64_t> greedy_decode(Transformer& model, const Example& prompt, int64_t count,
                                   const Positions& pos);

EvalResult evaluate(Transformer& model, const TaskSpec& task, int64_t n, int64_t samples,
                    int64_t eval_batch, const PositionSampling& sampling, uint64_t seed);

}  // namespace posbench::trained
