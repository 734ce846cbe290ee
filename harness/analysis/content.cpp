#include "harness/analysis/content.h"

#include "encoders/encoder.h"
#include "encoders/error.h"
#include "encoders/rng.h"

namespace posbench {

ContentVectors random_content(int64_t pairs, int64_t dim, uint64_t seed, std::string_view stream) {
  ContentVectors c;
  c.pairs = pairs;
  c.dim = dim;
  c.q.resize(size_t(pairs * dim));
  c.k.resize(size_t(pairs * dim));
  Rng rng(seed, stream);
  for (int64_t s = 0; s < pairs; ++s) {
    const std::vector<double> q = rng.normal_vector(dim);
    const std::vector<double> k = rng.normal_vector(dim);
    std::copy(q.begin(), q.end(), c.q.begin() + s * dim);
    std::copy(k.begin(), k.end(), c.k.begin() + s * dim);
  }
  return c;
}

ParamSpec content_param() {
  ParamSpec s = ParamSpec::tagged(
      "content", "model",
      {
          {"independent", {}, "q, k ~ N(0, I) independent, `samples` pairs"},
          {"shared", {}, "q = k ~ N(0, I), `samples` draws"},
          {"ones", {}, "q = k = (1, ..., 1), RoFormer's all-ones content (one pair)"},
          {"file",
           {ParamSpec::path("path",
                            ".npy (float32/float64) of shape (2, N, dim): q = [0], k = [1]; or "
                            "(N, dim): q = k; every row is used")
                .mandatory()},
           "q, k vectors read from a .npy, e.g. exported from a real model"},
      },
      {},
      "query/key content the logits are built from (rotary schemes; length_extrapolation: "
      "every family). A string names a model without fields: \"ones\"");
  s.default_value = {{"model", "independent"}};
  s.allow_tag_shorthand();
  return s;
}

static ContentModel::Kind kind_of(const std::string& name) {
  if (name == "shared") return ContentModel::Kind::shared;
  if (name == "ones") return ContentModel::Kind::ones;
  if (name == "file") return ContentModel::Kind::file;
  return ContentModel::Kind::independent;
}

ContentModel::ContentModel(Kind kind, int64_t /*dim*/) : kind_(kind) {}

ContentModel::ContentModel(const Params& params, int64_t dim)
    : kind_(params.has("content") ? kind_of(params.object("content").string("model"))
                                  : Kind::independent) {
  if (kind_ != Kind::file) return;
  path_ = params.object("content").string("path");
  // The header only (shape, dtype, size); the data is read by load().
  try {
    header_ = read_npy_header(path_);
  } catch (const UserError& e) {
    throw UserError("content.path", e.message());
  }
  const std::vector<int64_t>& shape = header_.shape;
  const std::string dims = std::to_string(dim);
  const std::string expected =
      "expected shape (2, N, " + dims + ") (q = [0], k = [1]) or (N, " + dims + ") (q = k)";
  const bool pairs3 = shape.size() == 3 && shape[0] == 2;
  if (!(pairs3 || shape.size() == 2))
    throw UserError("content.path",
                    path_ + ": has shape " + npy_shape_text(shape) + "; " + expected);
  if (shape.back() != dim)
    throw UserError("content.path", path_ + ": has vectors of width " +
                                        std::to_string(shape.back()) + " but dim is " + dims +
                                        "; " + expected);
  file_shared_ = !pairs3;
  file_pairs_ = shape[shape.size() - 2];
  if (file_pairs_ < 1)
    throw UserError("content.path", path_ + ": holds no vectors (shape " + npy_shape_text(shape) +
                                        "); " + expected + " with N >= 1");
}

const char* ContentModel::name() const {
  switch (kind_) {
    case Kind::independent:
      return "independent";
    case Kind::shared:
      return "shared";
    case Kind::ones:
      return "ones";
    case Kind::file:
      return "file";
  }
  return "?";
}

int64_t ContentModel::pairs(int64_t samples) const {
  switch (kind_) {
    case Kind::ones:
      return 1;
    case Kind::file:
      return file_pairs_;
    default:
      return samples;
  }
}

uint64_t ContentModel::memory_bytes(int64_t samples, int64_t dim) const {
  const CheckedSize vectors = CheckedSize(pairs(samples)) * dim * 2 * 8;
  if (kind_ != Kind::file) return vectors.saturated();
  // The read buffer (the file's data) and its float64 copy.
  const CheckedSize elements = header_.data_bytes / npy_item_size(header_.dtype);
  return (vectors + header_.data_bytes + elements * 8).saturated();
}

void ContentModel::load() const {
  if (kind_ != Kind::file || data_) return;
  NpyArray a;
  try {
    // read_npy refuses NaN/inf and data other than the header declared.
    a = read_npy(path_, header_.data_bytes);
  } catch (const UserError& e) {
    throw UserError("content.path", e.message());
  }
  if (a.shape != header_.shape)
    throw UserError("content.path", path_ + ": changed since it was checked: shape " +
                                        npy_shape_text(a.shape) + ", was " +
                                        npy_shape_text(header_.shape));
  data_ = std::make_shared<const std::vector<double>>(a.as_double());
}

ContentVectors ContentModel::vectors(int64_t samples, int64_t dim, uint64_t seed,
                                     std::string_view stream) const {
  switch (kind_) {
    case Kind::independent:
      return random_content(samples, dim, seed, stream);
    case Kind::shared: {
      ContentVectors c;
      c.pairs = samples, c.dim = dim;
      Rng rng(seed, stream);
      for (int64_t s = 0; s < samples; ++s) {
        const std::vector<double> v = rng.normal_vector(dim);
        c.q.insert(c.q.end(), v.begin(), v.end());
      }
      c.k = c.q;
      return c;
    }
    case Kind::ones: {
      ContentVectors c;
      c.pairs = 1, c.dim = dim;
      c.q.assign(size_t(dim), 1.0);
      c.k = c.q;
      return c;
    }
    case Kind::file: {
      load();
      ContentVectors c;
      c.pairs = file_pairs_, c.dim = dim;
      const size_t n = size_t(file_pairs_ * dim);
      c.q.assign(data_->begin(), data_->begin() + ptrdiff_t(n));
      c.k = file_shared_ ? c.q : std::vector<double>(data_->begin() + ptrdiff_t(n), data_->end());
      return c;
    }
  }
  return {};
}

nlohmann::json ContentModel::to_json() const {
  nlohmann::json j = {{"model", name()}};
  if (kind_ == Kind::file) {
    j["path"] = path_;
    j["shape"] = header_.shape;
    j["pairs"] = file_pairs_;
    j["q_equals_k"] = file_shared_;
  }
  return j;
}

}  // namespace posbench
