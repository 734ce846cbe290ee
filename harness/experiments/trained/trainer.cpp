#include "harness/experiments/trained/trainer.h"

#include <dlfcn.h>
#include <malloc.h>

#include <chrono>
#include <cmath>
#include <numbers>
#include <set>

namespace posbench::trained {

using torch::Tensor;

bool set_threads(int threads) {
  torch::set_num_threads(std::max(1, threads));
  using SetThreads = void (*)(int);
  void* sym = dlsym(RTLD_DEFAULT, "openblas_set_num_threads");
  if (sym) reinterpret_cast<SetThreads>(sym)(1);
  // Every op allocates and frees activations of tens to hundreds of KiB; with glibc's defaults
  // they are mmap'ed / trimmed and page-faulted in again at every step (a quarter of the time in
  // the kernel under perf). Keep freed memory in the heap instead.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  mallopt(M_TOP_PAD, 64 << 20);
  return sym != nullptr;
}

double learning_rate(const TrainOptions& o, int64_t step) {
  if (step < o.warmup_steps) return o.lr * double(step + 1) / double(o.warmup_steps);
  const int64_t span = std::max<int64_t>(1, o.steps - o.warmup_steps);
  return o.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * double(step - o.warmup_steps) / span));
}

Positions sample_positions(const PositionSampling& s, int64_t rows, int64_t T, Rng& rng) {
  if (!s.randomized) return Positions::contiguous(T);
  Positions p;
  for (int64_t r = 0; r < rows; ++r) {
    // Floyd's algorithm: T distinct values of [0, max_position), each subset equally likely.
    std::set<int64_t> chosen;
    for (int64_t j = s.max_position - T; j < s.max_position; ++j) {
      const int64_t t = std::min(j, int64_t(rng.uniform() * double(j + 1)));
      if (!chosen.insert(t).second) chosen.insert(j);
    }
    p.rows.emplace_back(chosen.begin(), chosen.end());
  }
  return p;
}

namespace {

Tensor long_tensor(const std::vector<int64_t>& v, int64_t rows, int64_t cols) {
  return torch::tensor(v, torch::kLong).view({rows, cols});
}

}  // namespace

Tensor masked_loss(const Tensor& logits, const Batch& batch) {
  const Tensor targets = long_tensor(batch.targets, batch.rows, batch.cols);
  const Tensor mask =
      torch::tensor(batch.loss_mask).view({batch.rows, batch.cols}).to(logits.dtype());
  const Tensor nll = -torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  return (nll * mask).sum() / mask.sum();
}

Tensor training_loss(Transformer& model, const Batch& batch, const Positions& pos) {
  const Packing pack = Packing::of(batch.lengths, batch.cols);
  std::vector<int64_t> wanted, targets;  // output cells: their rows in the packed [N], targets
  const int64_t* packed_row = pack.scatter.data_ptr<int64_t>();  // [B * T]
  for (size_t at = 0; at < batch.loss_mask.size(); ++at)
    if (batch.loss_mask[at] != 0.0f) {  // output cells are real cells
      wanted.push_back(packed_row[at]);
      targets.push_back(batch.targets[at]);
    }
  const Tensor logits = model->forward(long_tensor(batch.inputs, batch.rows, batch.cols), pos, pack,
                                       torch::tensor(wanted, torch::kLong));  // [M, V]
  const Tensor target = torch::tensor(targets, torch::kLong).unsqueeze(-1);
  return -torch::log_softmax(logits, -1).gather(-1, target).mean();
}

namespace {

// The parameters of one AdamW group moved into one contiguous buffer, their gradients into
// another, each parameter (still a leaf, still the module's) a view of them: AdamW, zeroing and
// clipping then run a few ops on the whole group instead of a few per parameter tensor (~30 of
// them; that was ~10% of a step). AdamW is elementwise, so its numbers do not change, provided
// every parameter of the group gets a gradient at every step (true here: each takes part in every
// forward; one that did not would still be decayed, where torch's per-tensor AdamW skips a tensor
// without a gradient). Frozen parameters (requires_grad false) are never put in a group.
class FlatGroup {
 public:
  explicit FlatGroup(std::vector<Tensor> members) : members_(std::move(members)) {
    int64_t total = 0;
    for (const Tensor& p : members_) total += p.numel();
    const auto options = members_.empty() ? torch::TensorOptions() : members_[0].options();
    params = torch::empty({total}, options), grads = torch::zeros({total}, options);
    torch::NoGradGuard no_grad;
    int64_t at = 0;
    for (Tensor p : members_) {
      Tensor values = params.narrow(0, at, p.numel()).view(p.sizes());
      values.copy_(p);
      p.set_data(values);  // the module's parameter now lives in the buffer
      p.mutable_grad() = grads.narrow(0, at, p.numel()).view(p.sizes());  // accumulated in place
      at += p.numel();
    }
    params.set_requires_grad(true);
    params.mutable_grad() = grads;
  }
  // Each parameter gets its own storage back, also when training throws: the model outlives the
  // training, and whatever uses it next (evaluation, a checkpoint, another train()) should see
  // independent tensors, not views of a buffer it does not know of.
  ~FlatGroup() {
    torch::NoGradGuard no_grad;
    for (Tensor p : members_) {
      p.set_data(p.detach().clone());
      p.mutable_grad() = Tensor();
    }
  }
  FlatGroup(const FlatGroup&) = delete;
  FlatGroup& operator=(const FlatGroup&) = delete;

  Tensor params, grads;  // [P], P = the group's parameter count

 private:
  std::vector<Tensor> members_;
};

}  // namespace

TrainResult train(Transformer& model, const TaskSpec& task, const TrainOptions& o,
                  const TrainProgress& progress) {
  model->train();
  std::vector<Tensor> decay, no_decay;  // AdamW decays matrices, not biases/norms/position params
  for (const auto& item : model->named_parameters()) {
    if (!item.value().requires_grad()) continue;
    const bool matrix = item.value().dim() >= 2 && item.key().find("position") == std::string::npos;
    (matrix ? decay : no_decay).push_back(item.value());
  }
  const FlatGroup flat_decay(decay), flat_no_decay(no_decay);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<Tensor>{flat_decay.params},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay)));
  groups.emplace_back(std::vector<Tensor>{flat_no_decay.params},
                      std::make_unique<torch::optim::AdamWOptions>(
                          torch::optim::AdamWOptions(o.lr).weight_decay(0.0)));
  torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(o.lr));

  Rng data(o.seed, "trained_extrapolation/train/" + std::string(to_string(task.kind)));
  TrainResult out;
  const int64_t every = std::max<int64_t>(1, o.steps / std::max<int64_t>(1, o.loss_points));
  double sum = 0;
  int64_t count = 0;
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < o.steps; ++s) {
    std::vector<Example> ex;
    for (int64_t b = 0; b < o.batch; ++b) {
      const int64_t n =
          1 + std::min(o.train_length - 1, int64_t(data.uniform() * double(o.train_length)));
      ex.push_back(make_example(task, n, data));
    }
    const Batch batch = make_batch(ex);
    const Positions pos = sample_positions(o.sampling, batch.rows, batch.cols, data);
    for (auto& g : opt.param_groups()) g.options().set_lr(learning_rate(o, s));
    flat_decay.grads.zero_();
    flat_no_decay.grads.zero_();
    const Tensor loss = training_loss(model, batch, pos);
    loss.backward();
    if (o.clip > 0)
      torch::nn::utils::clip_grad_norm_({flat_decay.params, flat_no_decay.params}, o.clip);
    opt.step();
    const double l = loss.item<double>();
    sum += l, ++count;
    if ((s + 1) % every == 0 || s + 1 == o.steps) {
      out.steps.push_back(double(s + 1));
      out.losses.push_back(sum / double(count));
      out.final_loss = sum / double(count);
      sum = 0, count = 0;
    }
    if (progress) progress(s, l);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  out.steps_per_second = out.seconds > 0 ? double(o.steps) / out.seconds : 0;
  return out;
}

std::vector<bool> teacher_forced_exact(Transformer& model, const std::vector<Example>& examples,
                                       const Positions& pos, int64_t* correct_tokens) {
  torch::NoGradGuard no_grad;
  const Batch batch = make_batch(examples);
  const Tensor pred = model->forward(long_tensor(batch.inputs, batch.rows, batch.cols), pos)
                          .argmax(-1)
                          .contiguous();
  auto p = pred.accessor<int64_t, 2>();
  std::vector<bool> out;
  int64_t correct = 0;
  for (int64_t r = 0; r < batch.rows; ++r) {
    bool all = true;
    for (int64_t t = 0; t < batch.cols; ++t) {
      const size_t at = size_t(r * batch.cols + t);
      if (batch.loss_mask[at] == 0.0f) continue;
      const bool ok = p[r][t] == batch.targets[at];
      correct += ok;
      all = all && ok;
    }
    out.push_back(all);
  }
  if (correct_tokens) *correct_tokens = correct;
  return out;
}

std::vector<int64_t> greedy_decode(Transformer& model, const Example& prompt, int64_t count,
                                   const Positions& pos) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> seq(prompt.tokens.begin(), prompt.tokens.begin() + prompt.output_start);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < count; ++i) {
    const int64_t T = int64_t(seq.size());
    Positions prefix;
    prefix.rows.emplace_back(pos.rows[0].begin(), pos.rows[0].begin() + T);
    const Tensor logits = model->forward(long_tensor(seq, 1, T), prefix);
    const int64_t next = logits[0][T - 1].argmax().item<int64_t>();
    out.push_back(next);
    seq.push_back(next);
  }
  return out;
}

EvalResult evaluate(Transformer& model, const TaskSpec& task, int64_t n, int64_t samples,
                    int64_t eval_batch, const PositionSampling& sampling, uint64_t seed) {
  model->eval();
  // The same examples (and random positions) for every scheme: the stream names the length only.
  Rng rng(seed, "trained_extrapolation/eval/" + std::string(to_string(task.kind)) + "/" +
                    std::to_string(n));
  int64_t exact = 0, correct = 0, tokens = 0;
  for (int64_t done = 0; done < samples; done += eval_batch) {
    std::vector<Example> ex;
    for (int64_t b = 0; b < std::min(eval_batch, samples - done); ++b)
      ex.push_back(make_example(task, n, rng));
    const Positions pos =
        sample_positions(sampling, int64_t(ex.size()), task.sequence_length(n) - 1, rng);
    int64_t c = 0;
    for (bool ok : teacher_forced_exact(model, ex, pos, &c)) exact += ok;
    correct += c;
    tokens += int64_t(ex.size()) * task.output_length(n);
  }
  model->train();
  return {double(exact) / double(samples), double(correct) / double(tokens)};
}

}  // namespace posbench::trained
