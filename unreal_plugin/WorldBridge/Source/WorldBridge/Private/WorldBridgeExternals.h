// The engine services the core asks for (WorldBridgeCore/Externals.h), implemented with Unreal's:
// UE_LOG, threads from Async(EAsyncExecution::Thread), and AsyncTask to the game thread.
#pragma once

#include "Async/Async.h"
#include "CoreMinimal.h"
#include "WorldBridgeCore/Externals.h"
#include "WorldBridgeCore/UnrealConversion.h"
#include "WorldBridgeTypes.h"

#include <memory>

class AWorldBridgeActor;

DECLARE_LOG_CATEGORY_EXTERN(LogWorldBridge, Log, All);

class FWorldBridgeLogger final : public WorldBridge::ILogger
{
public:
	void log(WorldBridge::LogLevel Level, const std::string& Message) override;
};

/** Each long task on a thread of its own (they block on the network); joined on destruction. */
class FWorldBridgeTaskRunner final : public WorldBridge::ITaskRunner
{
public:
	~FWorldBridgeTaskRunner() override;
	void startLongTask(const std::string& Name, std::function<void()> Work) override;

private:
	FCriticalSection Lock;
	TArray<TFuture<void>> Tasks;
};

/** A tile converted to Unreal's frame on the network thread, ready for the game thread. */
struct FWorldBridgePreparedTile
{
	FWorldBridgeTileKey Key;
	std::shared_ptr<const WorldBridge::UnrealSplatTextures> Splats;
	std::shared_ptr<const WorldBridge::UnrealMesh> Mesh;
	std::shared_ptr<const WorldBridge::DecodedTile> Source;  // the mesh's texture image bytes
};

struct FWorldBridgePreparedChange
{
	TArray<FWorldBridgePreparedTile> Show;
	TArray<FWorldBridgeTileKey> Hide;
};

/** Converts what the session reports and posts it to the actor on the game thread. */
class FWorldBridgeActorSink final : public WorldBridge::ITileSink
{
public:
	FWorldBridgeActorSink(AWorldBridgeActor* Owner, uint32 Generation) : Owner(Owner), Generation(Generation) {}

	void onHello(const WorldBridge::SessionHello& Hello) override;
	void onDrawChange(const WorldBridge::DrawChange& Change) override;
	void onTileChanged(const WorldBridge::TileChange& Change) override;
	void onProgress(const WorldBridge::SessionProgress& Progress) override;
	void onError(const WorldBridge::SessionError& Error) override;
	void onConnection(WorldBridge::ConnectionState State, const std::string& Detail) override;

private:
	template <typename FnType>
	void OnGameThread(FnType&& Fn)
	{
		AsyncTask(ENamedThreads::GameThread, [Weak = Owner, Fn = MoveTemp(Fn)]() {
			if (AWorldBridgeActor* Actor = Weak.Get())
			{
				Fn(*Actor);
			}
		});
	}

	TWeakObjectPtr<AWorldBridgeActor> Owner;
	uint32 Generation;
};

FWorldBridgeTileKey ToBlueprintKey(const WorldBridge::TileKey& Key);
FString ToFString(const std::string& Text);
