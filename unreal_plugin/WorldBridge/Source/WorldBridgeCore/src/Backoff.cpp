#include "WorldBridgeCore/Backoff.h"

#include <algorithm>
#include <cmath>

namespace WorldBridge {

std::chrono::milliseconds Backoff::next() {
  const double grown = options_.initial.count() * std::pow(options_.multiplier, attempt_);
  const double capped = std::min(grown, static_cast<double>(options_.max.count()));
  ++attempt_;
  const double cut = std::uniform_real_distribution<double>(0.0, options_.jitter)(random_);
  return std::chrono::milliseconds(static_cast<int64_t>(capped * (1.0 - cut)));
}

}  // namespace WorldBridge
