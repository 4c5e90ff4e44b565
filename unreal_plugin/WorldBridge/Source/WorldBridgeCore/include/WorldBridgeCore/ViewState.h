// Where the viewer is and what it sees, in the wire's frame (glTF: Y up, metres, -Z forward).
// An engine converts its camera with Frame.h (fromUnrealPosition) before handing it over.
#pragma once

#include <cstdint>

#include "WorldBridgeCore/Frame.h"

namespace WorldBridge {

struct ViewState {
  Vec3d position;                 // metres, world frame
  Vec3d forward{0, 0, -1};        // view direction; the server normalises it
  Vec3d velocity;                 // metres per second: the server streams ahead of it
  double verticalFovDeg = 60;     // in (0, 179)
  uint32_t viewportWidthPx = 1280;
  uint32_t viewportHeightPx = 720;
};

}  // namespace WorldBridge
