#pragma once
// A strict name -> factory registry (after LLVM's Registry<T>). A scheme registers itself
// from its own file with one file-level object:
//
//   static const posbench::EncoderRegistration kRegistration{{
//       .name = "rope", .family = Family::rotary, .description = "...", .version = 1,
//       .params = {...}, .factory = [](const Params& p) { return std::make_unique<Rope>(p); }}};
//
// A second registration under a taken name is recorded, and the CLI reports both sources at
// start-up; an unknown name answers with the closest match and the full list.
//
// `.family` must be what the encoder's family() returns. It cannot be checked at registration
// (building an instance needs params, which may be mandatory), so EncoderInfo::build checks it
// whenever an instance is built: a mismatch is a std::logic_error naming the scheme and its
// source.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "encoders/encoder.h"
#include "encoders/error.h"
#include "encoders/params.h"

namespace posbench {

// Bump when the ABI of Encoder / EncoderInfo changes; plugins built against another value
// are refused at load time. 2: one UserError replaces ParamError,
// nested ParamSpecs, Duplicate structs, Encoder::AngularForm gained `columns`. 3: Encoder
// gained memory_bytes(), load() and pretrained(); Experiment::takes_reference() /
// check_reference(), EncoderInstance::reference, ExperimentResult::summary_title / tables. 4:
// ExperimentInfo::metrics (MetricSpec), Metric::at, Experiment::load(), ParamSpec::tag_shorthand.
// 5: Experiment::summarize() and encoders_separable() (units of a run: shards, resume).
// 6: Experiment::estimated_seconds() (a unit's cost for plan and shard balancing).
inline constexpr int kInterfaceVersion = 6;

// A second registration under a name already taken. Kept (not thrown) because registrations
// run before main; the CLI reports them at start-up and refuses a plugin that causes one.
struct Duplicate {
  std::string name;
  std::string first_source;   // who registered the name first (and keeps it)
  std::string second_source;  // who tried again
  std::string str() const {
    return "'" + name + "' is registered twice: by " + first_source + " and by " + second_source;
  }
};

template <class Info>
class Registry {
 public:
  // The one registry of this kind in the process. Defined out of line (encoders/registry.cpp,
  // explicitly instantiated for EncoderInfo and ExperimentInfo) so a plugin holds only an
  // undefined reference that dlopen binds to the executable's copy, whatever visibility flags
  // the plugin was compiled with (an inline function-local static would be duplicated inside
  // a plugin built with -fvisibility=hidden, and its schemes would silently vanish).
  static Registry& instance();

  void add(Info info) {
    auto it = entries_.find(info.name);
    if (it != entries_.end()) {
      duplicates_.push_back({info.name, it->second.source, info.source});
      return;
    }
    std::string name = info.name;
    entries_.emplace(std::move(name), std::move(info));
  }

  // Undo an add (used when a plugin fails to load after registering).
  void remove(const std::string& name) { entries_.erase(name); }

  const Info* find(const std::string& name) const {
    auto it = entries_.find(name);
    return it == entries_.end() ? nullptr : &it->second;
  }

  // Throws UserError("unknown <kind> 'x'; did you mean 'y'? available: ...").
  const Info& get(const std::string& name, const std::string& kind) const {
    if (const Info* info = find(name)) return *info;
    throw UserError(unknown_name_message(kind, name, names()));
  }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& [name, info] : entries_) out.push_back(name);
    return out;  // std::map keeps them sorted
  }

  std::vector<const Info*> all() const {
    std::vector<const Info*> out;
    for (const auto& [name, info] : entries_) out.push_back(&info);
    return out;
  }

  // Duplicate registrations seen so far.
  const std::vector<Duplicate>& duplicates() const { return duplicates_; }
  void clear_duplicates() { duplicates_.clear(); }

 private:
  std::map<std::string, Info> entries_;
  std::vector<Duplicate> duplicates_;
};

struct EncoderInfo {
  std::string name;  // registry key, the name used in configs (lowercase)
  // The family as read without an instance (experiments, list, config checks). It must equal
  // the built encoder's family() (kernels and analysis read that one): build() checks it.
  Family family = Family::additive;
  std::string description;  // one line
  int version = 1;          // bump when the scheme's numbers change
  std::vector<ParamSpec> params;
  // Builds the encoder from resolved params. May throw UserError for cross-field checks.
  // The harness calls it only through build().
  std::function<std::unique_ptr<Encoder>(const Params&)> factory;
  std::string source = "?";  // where it was registered (file or plugin path)

  // factory(params), checked: throws std::logic_error naming the scheme and its source when the
  // factory returns no encoder or one whose family() is not `family` (a bug in the scheme, not
  // in the user's config). Every registration, built-in or plugin, is built through here
  // (harness/run/config.cpp build_encoder), so the two declarations cannot silently differ.
  // UserErrors of the factory pass through unchanged. Defined in encoders/registry.cpp.
  std::unique_ptr<Encoder> build(const Params& params) const;
};

using EncoderRegistry = Registry<EncoderInfo>;

struct EncoderRegistration {
  explicit EncoderRegistration(EncoderInfo info, const char* source = __builtin_FILE()) {
    if (info.source == "?") info.source = source;
    EncoderRegistry::instance().add(std::move(info));
  }
};

}  // namespace posbench

// In a plugin's source, once: records the interface version the plugin was built against in
// a section of its own (.posbench_plugin), which posbench reads from the file *before*
// dlopen runs any of the plugin's code, so a plugin built against another interface version
// is refused with a message instead of crashing in its registrations.
#define POSBENCH_PLUGIN()                                                              \
  extern "C" __attribute__((visibility("default"), used, section(".posbench_plugin"))) \
  const int posbench_plugin_interface_version = ::posbench::kInterfaceVersion
