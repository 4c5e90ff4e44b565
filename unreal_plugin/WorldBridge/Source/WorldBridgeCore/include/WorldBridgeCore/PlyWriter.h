// Splats as an INRIA 3DGS PLY (binary little-endian, degree-0 colour): x y z nx ny nz f_dc_0..2
// opacity (logit) scale_0..2 (natural log) rot_0..3 (w x y z). Unlike the server's PLY tiles
// (frame RDF, as trainers write), this file keeps the glTF frame the core decodes into, and says so
// in a header comment.
#pragma once

#include <cstdint>
#include <vector>

#include "WorldBridgeCore/SplatCloud.h"

namespace WorldBridge {

std::vector<uint8_t> encodeInriaPly(const SplatCloud& cloud);

}  // namespace WorldBridge
