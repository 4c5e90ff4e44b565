#include <gtest/gtest.h>

#include "WorldBridgeCore/Backoff.h"

using namespace WorldBridge;
using std::chrono::milliseconds;

TEST(Backoff, GrowsToItsCapWithJitterBelowTheNominalDelay) {
  Backoff backoff({milliseconds(100), milliseconds(1000), 2.0, 0.2}, 7);
  const int nominal[] = {100, 200, 400, 800, 1000, 1000};
  for (int n : nominal) {
    const auto d = backoff.next().count();
    EXPECT_LE(d, n);
    EXPECT_GE(d, n * 0.8 - 1);
  }
  EXPECT_EQ(backoff.attempts(), 6);
  backoff.reset();
  EXPECT_LE(backoff.next().count(), 100);
}

TEST(Backoff, TheSameSeedGivesTheSameDelays) {
  Backoff a({}, 42), b({}, 42);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(a.next(), b.next());
}
