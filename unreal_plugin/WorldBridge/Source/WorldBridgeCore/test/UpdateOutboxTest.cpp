// View updates coalesced to the rate, acks at once, the first update first: on a clock we move.
#include <gtest/gtest.h>

#include "WorldBridgeCore/UpdateOutbox.h"

using namespace WorldBridge;
using Clock = UpdateOutbox::Clock;
using std::chrono::milliseconds;

namespace {
ViewState at(double x) {
  ViewState v;
  v.position = {x, 1.7, 0};
  return v;
}
}  // namespace

TEST(UpdateOutbox, TheFirstUpdateWaitsForAViewAndCarriesTheResumeFields) {
  UpdateOutbox outbox(10);
  outbox.beginStream("session-1", {{{0, 1, 2}, TileFormat::Spz, "abc"}});
  const auto t0 = Clock::now();
  EXPECT_FALSE(outbox.readyAt().has_value());
  EXPECT_FALSE(outbox.take(t0).has_value());
  outbox.setView(at(1));
  const auto first = outbox.take(t0);
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->first);
  EXPECT_EQ(first->resumeSessionId, "session-1");
  ASSERT_EQ(first->held.size(), 1u);
  EXPECT_EQ(first->held[0].key, (TileKey{0, 1, 2}));
  ASSERT_TRUE(first->view.has_value());
  EXPECT_EQ(first->sequence, 1u);
}

TEST(UpdateOutbox, ViewsBetweenSendsAreCoalescedToTheNewest) {
  UpdateOutbox outbox(10);  // one view per 100 ms
  outbox.beginStream("", {});
  const auto t0 = Clock::now();
  outbox.setView(at(0));
  ASSERT_TRUE(outbox.take(t0).has_value());
  outbox.setView(at(1));
  outbox.setView(at(2));
  const uint64_t last = outbox.setView(at(3));
  EXPECT_FALSE(outbox.take(t0 + milliseconds(50)).has_value());  // too soon
  EXPECT_EQ(*outbox.readyAt(), t0 + milliseconds(100));
  const auto next = outbox.take(t0 + milliseconds(100));
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->first);
  EXPECT_EQ(next->view->position.x, 3);
  EXPECT_EQ(next->sequence, last);
  EXPECT_FALSE(outbox.take(t0 + milliseconds(500)).has_value());  // nothing new
}

TEST(UpdateOutbox, AcksGoAtOnceWithoutAViewThatIsNotDue) {
  UpdateOutbox outbox(10);
  outbox.beginStream("", {});
  const auto t0 = Clock::now();
  outbox.setView(at(0));
  outbox.take(t0);
  outbox.setView(at(5));
  outbox.addAck({0, 0, 0});
  outbox.addAck({0, 1, 0});
  const auto acks = outbox.take(t0 + milliseconds(10));
  ASSERT_TRUE(acks.has_value());
  EXPECT_EQ(acks->acks.size(), 2u);
  EXPECT_FALSE(acks->view.has_value());  // the view waits for its turn
  const auto view = outbox.take(t0 + milliseconds(100));
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->view->position.x, 5);
  EXPECT_TRUE(view->acks.empty());
}

TEST(UpdateOutbox, ANewStreamStartsWithAFirstUpdateAndDropsTheOldStreamsAcks) {
  UpdateOutbox outbox(10);
  outbox.beginStream("", {});
  const auto t0 = Clock::now();
  outbox.setView(at(7));
  outbox.take(t0);
  outbox.addAck({0, 0, 0});
  outbox.beginStream("s", {});
  const auto first = outbox.take(t0 + milliseconds(1));
  ASSERT_TRUE(first.has_value());
  EXPECT_TRUE(first->first);
  EXPECT_TRUE(first->acks.empty());
  ASSERT_TRUE(first->view.has_value());  // the last view again: a first update needs a position
  EXPECT_EQ(first->view->position.x, 7);
}
