// TEMPORARY during the foundation work: formats whose extractor is being written report so.
// Each extractor's author deletes its line here when adding extract_<format>.cpp.
#include <fmt/format.h>

#include "extract/formats.h"

namespace smelt {

#define SMELT_PENDING(fn, fmtname) \
  result<document> fn(std::string_view, const std::string& name) { \
    return make_error(fmt::format("{}: {} extraction is not available yet", name, fmtname)); \
  }

}  // namespace smelt
