#pragma once
// Content models: the query/key vectors (q_s, k_s), s in [0, pairs), that the similarity-based
// experiments put through a scheme to build attention logits (translation_invariance,
// monotonicity, symmetry and long_term_decay through Similarity or directly; length_extrapolation
// for its attention statistics). One declaration, the experiment param `content`:
//   "independent" (default) q_s, k_s ~ N(0, I) [dim], independent, `samples` pairs drawn from
//                           Rng(seed, stream) in the order q_0, k_0, q_1, k_1, ... (exactly the
//                           draws of random_content, so results predating the param are kept)
//   "shared"                q_s = k_s ~ N(0, I) [dim], `samples` draws (structured content: a
//                           token attending to itself, the case RoFormer's decay bound describes)
//   "ones"                  q = k = (1, ..., 1) [dim], one pair (RoFormer sec. 3.4.3's figure)
//   {"model": "file", "path": "qk.npy"}
//                           vectors from a .npy (float32/float64, finite), e.g. exported from a
//                           real model's attention layer:
//                             shape (2, N, dim): q_s = A[0, s], k_s = A[1, s], N pairs;
//                             shape (N, dim):    q_s = k_s = A[s], N pairs.
//                           `samples` is not used (every row is). The header is checked when
//                           the experiment is built (validate), the data read by load() (run).
// A string "ones" stands for {"model": "ones"}.

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "encoders/npy.h"
#include "encoders/params.h"

namespace posbench {

// q, k: [pairs, dim] in C order.
struct ContentVectors {
  int64_t pairs = 0, dim = 0;
  std::vector<double> q, k;
  const double* query(int64_t s) const { return q.data() + s * dim; }
  const double* key(int64_t s) const { return k.data() + s * dim; }
};

// `pairs` independent draws q_s, k_s ~ N(0, I) [dim] from Rng(seed, stream), in the order
// q_0, k_0, q_1, k_1, ... (each a normal_vector(dim)), so pair s is the same whatever `pairs` is.
ContentVectors random_content(int64_t pairs, int64_t dim, uint64_t seed, std::string_view stream);

// The declaration of the `content` param (the same for every experiment that takes it).
ParamSpec content_param();

class ContentModel {
 public:
  enum class Kind { independent, shared, ones, file };

  // From an experiment's resolved params (reads "content"); `dim` is the width the vectors must
  // have. A file's header is read and checked here (UserError at "content.path").
  ContentModel(const Params& params, int64_t dim);
  // A model given directly (tests, experiments without the param).
  explicit ContentModel(Kind kind, int64_t dim = 0);

  Kind kind() const { return kind_; }
  const char* name() const;
  // Whether the vectors are random draws (independent, shared): then `samples` counts them.
  bool random() const { return kind_ == Kind::independent || kind_ == Kind::shared; }
  // Number of pairs vectors() gives: `samples` for random models, 1 for ones, N for a file.
  int64_t pairs(int64_t samples) const;
  // Bytes vectors() holds (q and k, float64), plus a file's read buffer.
  uint64_t memory_bytes(int64_t samples, int64_t dim) const;
  // file: reads the data (once; later calls reuse it). Other models: nothing to do.
  void load() const;
  // The vectors: [pairs(samples), dim] each. A file not loaded yet is loaded now.
  ContentVectors vectors(int64_t samples, int64_t dim, uint64_t seed,
                         std::string_view stream) const;
  // For results' extra: {"model", and for a file "path", "shape", "pairs", "q_equals_k"}.
  nlohmann::json to_json() const;

 private:
  Kind kind_;
  std::string path_;
  NpyHeader header_;
  int64_t file_pairs_ = 0;
  bool file_shared_ = false;                                 // shape (N, dim): q = k
  mutable std::shared_ptr<const std::vector<double>> data_;  // file data, float64, C order
};

}  // namespace posbench
