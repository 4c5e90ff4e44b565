// worldbridge-core-stream: streams a world along a straight walk from its spawn with the C++ core
// and writes every decoded tile as DIR/LOD_IX_IZ.ply (INRIA layout, glTF frame; meshes as .glb):
// the checks an engine integration makes, without an engine.
//
//   worldbridge-core-stream --server HOST:PORT --world ID --walk METRES --out DIR
//       [--format splat-textures|stream|spz|glb] [--step METRES] [--radius METRES] [--token T]
//       [--raw] [--timeout SECONDS] [--drop-at METRES] [--pause-at METRES]
//       [--directive JSON [--revert]]
//
// At each step it sends the view and waits until the server reports nothing pending for it. With
// --raw it also writes each splat tile's decoded float32 values (DIR/raw/LOD_IX_IZ.f32, the layout
// of tests/vectors) and each mesh tile's arrays (DIR/raw/LOD_IX_IZ.{positions,uvs,indices}), to
// compare with another decoder of the same bytes (named by the sha256 in the output). --drop-at cuts the connection once the walk has settled there, as a network fault
// would: the session reconnects and resumes. --pause-at says "paused" on stderr once the walk has
// settled there and waits for a line on stdin (a test restarts the server meanwhile). --directive
// applies a directive (its JSON form) through the core's WorldClient once the walk has settled at
// its end, and waits until every held tile the server said changed has its new content (with
// --raw also written as DIR/raw/LOD_IX_IZ.SHA256.f32); --revert then reverts it and waits again.
// Prints one JSON object; exit 0 on success.
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "WorldBridgeCore/Handover.h"
#include "WorldBridgeCore/PlyWriter.h"
#include "WorldBridgeCore/StreamSession.h"
#include "WorldBridgeCore/WorldClient.h"

namespace fs = std::filesystem;
using namespace WorldBridge;

namespace {

struct Args {
  std::string server, world, token, out, directive;
  double walkM = -1, stepM = 16, radiusM = 0, timeoutS = 120, dropAtM = -1, pauseAtM = -1;
  TileFormat format = TileFormat::SplatTextures;
  bool raw = false, revert = false;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "worldbridge-core-stream: " << why << "\n"
            << "usage: worldbridge-core-stream --server HOST:PORT --world ID --walk METRES --out DIR\n"
               "         [--format splat-textures|stream|spz|glb] [--step METRES] [--radius METRES]\n"
               "         [--token T] [--raw] [--timeout SECONDS] [--drop-at METRES]\n"
               "         [--pause-at METRES] [--directive JSON [--revert]]\n";
  std::exit(2);
}

double number(const std::string& flag, const std::string& text) {
  try {
    size_t used = 0;
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  usage(flag + " wants a number, not '" + text + "'");
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") usage("streams a world along a straight walk");
    if (flag == "--raw" || flag == "--revert") {
      (flag == "--raw" ? a.raw : a.revert) = true;
      continue;
    }
    if (i + 1 >= argc) usage(flag + " wants a value");
    const std::string value = argv[++i];
    if (flag == "--server") a.server = value;
    else if (flag == "--world") a.world = value;
    else if (flag == "--out") a.out = value;
    else if (flag == "--token") a.token = value;
    else if (flag == "--directive") a.directive = value;
    else if (flag == "--walk") a.walkM = number(flag, value);
    else if (flag == "--step") a.stepM = number(flag, value);
    else if (flag == "--radius") a.radiusM = number(flag, value);
    else if (flag == "--timeout") a.timeoutS = number(flag, value);
    else if (flag == "--drop-at") a.dropAtM = number(flag, value);
    else if (flag == "--pause-at") a.pauseAtM = number(flag, value);
    else if (flag == "--format") {
      const auto f = formatFromName(value);
      if (!f || (*f != TileFormat::SplatTextures && *f != TileFormat::Stream && *f != TileFormat::Spz &&
                 *f != TileFormat::Glb))
        usage("--format must be splat-textures, stream, spz or glb, not '" + value + "'");
      a.format = *f;
    } else usage("unknown option " + flag);
  }
  if (a.server.empty() || a.world.empty() || a.out.empty() || a.walkM < 0)
    usage("--server, --world, --walk (>= 0) and --out are required");
  if (a.stepM <= 0) usage("--step must be positive");
  if (a.revert && a.directive.empty()) usage("--revert wants a --directive to revert");
  return a;
}

class StderrLogger : public ILogger {
 public:
  void log(LogLevel level, const std::string& message) override {
    static const char* names[] = {"debug", "info", "warning", "error"};
    std::cerr << "[" << names[static_cast<int>(level)] << "] " << message << "\n";
  }
};

// Runs each long task on its own std::thread; joins them all when destroyed.
class ThreadRunner : public ITaskRunner {
 public:
  ~ThreadRunner() override { join(); }
  /// Main joins the tasks itself: the session's last reference may be a task's own, and the runner
  /// destroyed with it would join its own thread.
  void join() {
    for (auto& t : threads_)
      if (t.joinable()) t.join();
  }
  void startLongTask(const std::string&, std::function<void()> work) override { threads_.emplace_back(std::move(work)); }

 private:
  std::vector<std::thread> threads_;
};

void writeFile(const fs::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream file(path, std::ios::binary);
  file.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!file) throw std::runtime_error("could not write " + path.string());
}

// The arrays the core read from a mesh tile, raw little-endian: STEM.positions.f32 (tile-local),
// STEM.uvs.f32, STEM.indices.u32.
void writeMeshArrays(const fs::path& stem, const GlbMesh& mesh) {
  const auto bytesOf = [](const auto& values) {
    const auto* p = reinterpret_cast<const uint8_t*>(values.data());
    return std::vector<uint8_t>(p, p + values.size() * sizeof(values[0]));
  };
  writeFile(stem.string() + ".positions.f32", bytesOf(mesh.positions));
  writeFile(stem.string() + ".uvs.f32", bytesOf(mesh.uvs));
  writeFile(stem.string() + ".indices.u32", bytesOf(mesh.indices));
}

// Writes every tile as it arrives and tracks what the walk waits on.
class FileSink : public ITileSink {
 public:
  FileSink(fs::path out, bool raw) : out_(std::move(out)), raw_(raw) {}

  void onHello(const SessionHello& hello) override {
    std::lock_guard<std::mutex> lock(mu_);
    generator_ = hello.generator + " " + hello.generatorVersion;
  }
  void onDrawChange(const DrawChange& change) override {
    std::lock_guard<std::mutex> lock(mu_);
    for (const TileKey& k : change.hide) drawn_.erase(k);
    for (const auto& t : change.show) drawn_.insert(t->key);
    cv_.notify_all();  // an unload may end the wait for a changed tile
    if (!change.received) return;
    const DecodedTile& tile = *change.received;
    const std::string stem = tile.key.fileStem();
    if (stale_.erase(tile.key)) {
      replaced_.emplace_back(tile.key, tile.sha256);
      if (raw_ && !tile.isMesh())
        writeFile(out_ / "raw" / (stem + "." + tile.sha256 + ".f32"), tile.splats.decodedBytes());
    }
    if (tile.isMesh()) {
      writeFile(out_ / (stem + ".glb"), tile.glb);
      if (raw_) writeMeshArrays(out_ / "raw" / stem, *tile.mesh);
      vertices_ += tile.mesh->vertexCount();
    } else {
      writeFile(out_ / (stem + ".ply"), encodeInriaPly(tile.splats));
      if (raw_) writeFile(out_ / "raw" / (stem + ".f32"), tile.splats.decodedBytes());
    }
    ++files_;
    splats_ += tile.splats.size();
    received_[tile.key] = tile.sha256;
    cv_.notify_all();
  }
  void onTileChanged(const TileChange& change) override {
    std::lock_guard<std::mutex> lock(mu_);
    changes_.push_back(change);
    stale_.insert(change.key);
  }
  void onProgress(const SessionProgress& p) override {
    std::lock_guard<std::mutex> lock(mu_);
    progress_ = p;
    cv_.notify_all();
  }
  void onError(const SessionError& e) override {
    std::lock_guard<std::mutex> lock(mu_);
    errors_.push_back(e.message);
  }
  void onConnection(ConnectionState state, const std::string& detail) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (state == ConnectionState::Failed) failure_ = detail.empty() ? "the connection failed" : detail;
    cv_.notify_all();
  }

  /// Waits until the server has applied `sequence` and has nothing pending, and `replaced` says
  /// every changed tile has its new content; false on timeout or failure.
  bool waitSettled(uint64_t sequence, std::chrono::duration<double> timeout, const std::function<bool()>& replaced) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, timeout, [&] {
      return !failure_.empty() || (progress_.sequence >= sequence && progress_.tilesPending == 0 && replaced());
    }) && failure_.empty();
  }

  std::mutex mu_;
  std::condition_variable cv_;
  fs::path out_;
  bool raw_;
  SessionProgress progress_;
  std::set<TileKey> drawn_;
  std::map<TileKey, std::string> received_;  // the content each key last came with
  std::vector<TileChange> changes_;  // changed events, in order
  std::set<TileKey> stale_;  // announced as changed; the next content of the key is the new one
  std::vector<std::pair<TileKey, std::string>> replaced_;  // changed tiles' new content, in order
  std::vector<std::string> errors_;
  std::string failure_, generator_;
  uint64_t files_ = 0, splats_ = 0, vertices_ = 0;
};

std::string keysJson(const std::vector<TileKey>& keys) {
  std::ostringstream s;
  s << "[";
  for (size_t i = 0; i < keys.size(); ++i)
    s << (i ? ", " : "") << "[" << keys[i].lod << ", " << keys[i].ix << ", " << keys[i].iz << "]";
  s << "]";
  return s.str();
}

std::string quoted(const std::string& text);

template <typename Pairs>
std::string tilesJson(const Pairs& tiles) {
  std::ostringstream s;
  s << "[";
  bool first = true;
  for (const auto& [k, sha] : tiles) {
    s << (first ? "" : ", ") << "{\"key\": [" << k.lod << ", " << k.ix << ", " << k.iz << "], \"sha256\": \"" << sha
      << "\"}";
    first = false;
  }
  s << "]";
  return s.str();
}

std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
      continue;
    }
    out += c;
  }
  return out + "\"";
}

// One directive call (apply or revert) and what the stream brought after it: the sink's changed
// events and replaced tiles in [firstChange, endChange) and [firstReplaced, endReplaced).
struct SteerRound {
  DirectiveResult result;
  std::map<TileKey, std::string> before;  // the content of every key received until the call
  size_t firstChange = 0, firstReplaced = 0, endChange = 0, endReplaced = 0;
  bool settled = false;
};

std::string roundJson(const SteerRound& round, const FileSink& sink) {
  std::ostringstream s;
  s << "{\"version\": " << round.result.version << ", \"directive_id\": " << round.result.directiveId
    << ", \"touched_tiles\": " << round.result.touchedTiles << ", \"notes\": " << round.result.notes.size()
    << ", \"settled\": " << (round.settled ? "true" : "false") << ", \"changed\": [";
  for (size_t i = round.firstChange; i < round.endChange; ++i) {
    const TileChange& c = sink.changes_[i];
    s << (i > round.firstChange ? ", " : "") << "{\"key\": [" << c.key.lod << ", " << c.key.ix << ", " << c.key.iz
      << "], \"directive_version\": " << c.directiveVersion << "}";
  }
  s << "], \"replaced\": ";
  const std::vector<std::pair<TileKey, std::string>> replaced(sink.replaced_.begin() + round.firstReplaced,
                                                              sink.replaced_.begin() + round.endReplaced);
  s << tilesJson(replaced) << ", \"before\": " << tilesJson(round.before) << "}";
  return s.str();
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  fs::create_directories(fs::path(args.out) / (args.raw ? "raw" : ""));

  WorldInfo world;
  try {
    world = WorldClient(args.server, args.token).getWorld(args.world);
  } catch (const RpcError& e) {
    std::cerr << "worldbridge-core-stream: " << e.what() << "\n";
    return 1;
  }
  // Walk along the spawn's horizontal forward (the photo's camera may look down a little).
  const double fx = world.spawnForward.x, fz = world.spawnForward.z;
  const double length = std::hypot(fx, fz);
  const Vec3d ahead = length > 1e-9 ? Vec3d{fx / length, 0, fz / length} : Vec3d{0, 0, -1};

  auto sink = std::make_shared<FileSink>(args.out, args.raw);
  auto runner = std::make_shared<ThreadRunner>();
  SessionOptions options;
  options.target = args.server;
  options.worldId = args.world;
  options.token = args.token;
  options.formats = {args.format};
  options.viewRadiusM = args.radiusM;
  const auto started = std::chrono::steady_clock::now();
  SessionStats stats;
  std::vector<TileKey> held;
  bool settled = true;
  double walked = 0;
  bool dropped = false, paused = false;
  std::vector<SteerRound> rounds;
  {
    StreamSession session(options, Externals{std::make_shared<StderrLogger>(), runner, sink});
    session.start();
    const int steps = static_cast<int>(std::ceil(args.walkM / args.stepM));
    // Settled means every held tile the server said changed has its new content too.
    const auto noneStale = [&session] { return session.stats().staleTiles == 0; };
    const auto timeout = std::chrono::duration<double>(args.timeoutS);
    ViewState view;
    for (int i = 0; i <= steps && settled; ++i) {
      walked = std::min(args.walkM, i * args.stepM);
      view.position = {world.spawnPosition.x + ahead.x * walked, world.spawnPosition.y,
                       world.spawnPosition.z + ahead.z * walked};
      view.forward = ahead;
      view.verticalFovDeg = world.spawnVerticalFovDeg > 0 ? world.spawnVerticalFovDeg : 60;
      const uint64_t sequence = session.updateView(view);
      settled = sink->waitSettled(sequence, timeout, noneStale);
      if (settled && args.dropAtM >= 0 && walked >= args.dropAtM && !dropped) {
        session.dropConnection();
        dropped = true;
      }
      if (settled && args.pauseAtM >= 0 && walked >= args.pauseAtM && !paused) {
        std::cerr << "paused at " << walked << " m" << std::endl;
        std::string line;
        std::getline(std::cin, line);
        paused = true;
      }
    }
    // Steer the world where the walk ended: the stream replaces what the directive changed.
    WorldClient steering(args.server, args.token, static_cast<int>(args.timeoutS * 1000));
    for (int call = 0; settled && !args.directive.empty() && call < (args.revert ? 2 : 1); ++call) {
      SteerRound round;
      {
        std::lock_guard<std::mutex> lock(sink->mu_);
        round.before = sink->received_;
        round.firstChange = sink->changes_.size();
        round.firstReplaced = sink->replaced_.size();
      }
      try {
        round.result = call == 0 ? steering.applyDirective(args.world, args.directive)
                                 : steering.revertDirective(args.world, rounds.front().result.directiveId);
      } catch (const RpcError& e) {
        std::cerr << "worldbridge-core-stream: " << e.what() << "\n";
        settled = false;
        break;
      }
      // A fresh sequence: its progress counts the changed tiles as pending until they are sent.
      round.settled = settled = sink->waitSettled(session.updateView(view), timeout, noneStale);
      {
        std::lock_guard<std::mutex> lock(sink->mu_);
        round.endChange = sink->changes_.size();
        round.endReplaced = sink->replaced_.size();
      }
      rounds.push_back(std::move(round));
    }
    session.stop();
    stats = session.stats();
    held = session.heldKeys();
  }
  runner->join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::lock_guard<std::mutex> lock(sink->mu_);
  const std::vector<TileKey> drawn(sink->drawn_.begin(), sink->drawn_.end());
  // A drawn tile fetched alone (GetTile) is the content the stream delivered.
  bool getTileAgrees = drawn.empty();
  if (!drawn.empty()) {
    try {
      const AssembledTile alone = WorldClient(args.server, args.token).getTile(args.world, drawn.front(), args.format);
      getTileAgrees = alone.sha256 == sink->received_[drawn.front()];
    } catch (const std::exception& e) {
      std::cerr << "worldbridge-core-stream: " << e.what() << "\n";
    }
  }
  const std::set<TileKey> heldSet(held.begin(), held.end());
  const bool drawnAgrees = tilesToDraw(heldSet) == sink->drawn_;
  std::cout << "{\"world\": " << quoted(args.world) << ", \"generator\": " << quoted(sink->generator_)
            << ", \"format\": " << quoted(std::string(formatName(args.format))) << ", \"walked_m\": " << walked
            << ", \"settled\": " << (settled ? "true" : "false") << ", \"failure\": " << quoted(sink->failure_)
            << ", \"tiles_received\": " << stats.tilesReceived << ", \"files_written\": " << sink->files_
            << ", \"splats_received\": " << sink->splats_
            << ", \"mesh_vertices_received\": " << sink->vertices_ << ", \"bytes_received\": " << stats.bytesReceived
            << ", \"unloads\": " << stats.unloads << ", \"reconnects\": " << stats.reconnects
            << ", \"resumed_streams\": " << stats.resumedStreams << ", \"resent_tiles\": " << stats.resentTiles
            << ", \"resumed_tiles\": " << stats.resumedTiles
            << ", \"decode_errors\": " << stats.decodeErrors << ", \"tiles_changed\": " << stats.tilesChanged
            << ", \"changes_replaced\": " << stats.changesReplaced << ", \"stale_tiles\": " << stats.staleTiles << ", \"stream_errors\": " << sink->errors_.size()
            << ", \"tiles\": " << tilesJson(sink->received_) << ", \"held\": " << keysJson(held) << ", \"drawn\": " << keysJson(drawn)
            << ", \"drawn_agrees\": " << (drawnAgrees ? "true" : "false")
            << ", \"get_tile_agrees\": " << (getTileAgrees ? "true" : "false") << ", \"steer\": [";
  for (size_t i = 0; i < rounds.size(); ++i) std::cout << (i ? ", " : "") << roundJson(rounds[i], *sink);
  std::cout << "], \"seconds\": " << seconds << "}\n";
  const bool ok = settled && stats.decodeErrors == 0 && sink->errors_.empty() && drawnAgrees && getTileAgrees;
  if (!settled)
    std::cerr << "worldbridge-core-stream: the walk did not settle: "
              << (sink->failure_.empty() ? "timed out waiting for the server" : sink->failure_) << "\n";
  return ok ? 0 : 1;
}
