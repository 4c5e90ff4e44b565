// Reconnect delays: exponential from `initial` to `max`, each with up to `jitter` of itself taken
// off at random (so many viewers of one restarted server do not return in step). Seeded, so a
// test sees the same delays every run.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>

namespace WorldBridge {

struct BackoffOptions {
  std::chrono::milliseconds initial{250};
  std::chrono::milliseconds max{10000};
  double multiplier = 2.0;
  double jitter = 0.2;  // fraction in [0, 1)
};

class Backoff {
 public:
  explicit Backoff(BackoffOptions options, uint64_t seed = 1) : options_(options), random_(seed) {}
  /// The delay before the next attempt; each call grows it.
  std::chrono::milliseconds next();
  /// A connection succeeded: start again from `initial`.
  void reset() { attempt_ = 0; }
  int attempts() const { return attempt_; }

 private:
  BackoffOptions options_;
  std::mt19937_64 random_;
  int attempt_ = 0;
};

}  // namespace WorldBridge
