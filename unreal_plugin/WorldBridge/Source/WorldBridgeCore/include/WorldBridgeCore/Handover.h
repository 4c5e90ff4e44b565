// The LOD hand-over rule: which of the held tiles to draw (docs/protocol.md; reference
// bridge/stream/handover.py). Draw a held tile unless (a) a held ancestor of it is drawn, or (b)
// its whole area is covered by held finer tiles (each of its four children held, or itself
// covered). A parent gives way to its children when the last of them arrives; drawn tiles never
// overlap and together cover exactly what is held. Apply after every tile and unload.
#pragma once

#include <set>

#include "WorldBridgeCore/TileKey.h"

namespace WorldBridge {

std::set<TileKey> tilesToDraw(const std::set<TileKey>& held);

}  // namespace WorldBridge
