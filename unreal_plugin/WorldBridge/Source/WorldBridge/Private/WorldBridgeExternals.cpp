#include "WorldBridgeExternals.h"

#include "WorldBridgeActor.h"

DEFINE_LOG_CATEGORY(LogWorldBridge);

using namespace WorldBridge;

FString ToFString(const std::string& Text) { return FString(UTF8_TO_TCHAR(Text.c_str())); }

FWorldBridgeTileKey ToBlueprintKey(const TileKey& Key)
{
	FWorldBridgeTileKey Out;
	Out.Lod = static_cast<int32>(Key.lod);
	Out.IX = Key.ix;
	Out.IZ = Key.iz;
	return Out;
}

void FWorldBridgeLogger::log(LogLevel Level, const std::string& Message)
{
	const FString Text = ToFString(Message);
	switch (Level)
	{
	case LogLevel::Error: UE_LOG(LogWorldBridge, Error, TEXT("%s"), *Text); break;
	case LogLevel::Warning: UE_LOG(LogWorldBridge, Warning, TEXT("%s"), *Text); break;
	case LogLevel::Info: UE_LOG(LogWorldBridge, Log, TEXT("%s"), *Text); break;
	default: UE_LOG(LogWorldBridge, Verbose, TEXT("%s"), *Text); break;
	}
}

FWorldBridgeTaskRunner::~FWorldBridgeTaskRunner()
{
	for (TFuture<void>& Task : Tasks)
	{
		Task.Wait();
	}
}

void FWorldBridgeTaskRunner::startLongTask(const std::string& Name, std::function<void()> Work)
{
	UE_LOG(LogWorldBridge, Verbose, TEXT("starting %s"), *ToFString(Name));
	FScopeLock Guard(&Lock);
	Tasks.Add(Async(EAsyncExecution::Thread, [Work = MoveTemp(Work)]() { Work(); }));
}

void FWorldBridgeActorSink::onHello(const SessionHello& Hello)
{
	OnGameThread([Generation = Generation, Id = ToFString(Hello.sessionId)](AWorldBridgeActor& Actor) {
		Actor.ReportConnected(Generation, Id);
	});
}

void FWorldBridgeActorSink::onDrawChange(const DrawChange& Change)
{
	// The conversion to Unreal's frame happens here, on the network thread; the game thread only
	// copies arrays into components.
	FWorldBridgePreparedChange Prepared;
	for (const auto& Tile : Change.show)
	{
		FWorldBridgePreparedTile Out;
		Out.Key = ToBlueprintKey(Tile->key);
		Out.Source = Tile;
		if (Tile->mesh)
		{
			Out.Mesh = std::make_shared<const UnrealMesh>(toUnrealMesh(*Tile->mesh));
		}
		else if (Tile->textures)
		{
			Out.Splats = std::make_shared<const UnrealSplatTextures>(toUnrealTextures(*Tile->textures));
		}
		else
		{
			UE_LOG(LogWorldBridge, Warning, TEXT("tile %s came in a format this module does not draw"),
				*ToFString(Tile->key.toString()));
			continue;
		}
		Prepared.Show.Add(MoveTemp(Out));
	}
	for (const TileKey& Key : Change.hide)
	{
		Prepared.Hide.Add(ToBlueprintKey(Key));
	}
	if (Prepared.Show.IsEmpty() && Prepared.Hide.IsEmpty())
	{
		return;
	}
	OnGameThread([Generation = Generation, Prepared = MoveTemp(Prepared)](AWorldBridgeActor& Actor) {
		Actor.ApplyDrawChange(Generation, Prepared);
	});
}

void FWorldBridgeActorSink::onTileChanged(const TileChange& Change)
{
	// The replacement itself comes as a DrawChange (ApplyDrawChange swaps the tile's component).
	OnGameThread([Generation = Generation, Key = ToBlueprintKey(Change.key)](AWorldBridgeActor& Actor) {
		Actor.ReportTileChanged(Generation, Key);
	});
}

void FWorldBridgeActorSink::onProgress(const SessionProgress& Progress)
{
	OnGameThread([Generation = Generation, Progress](AWorldBridgeActor& Actor) {
		Actor.ReportProgress(Generation, static_cast<int32>(Progress.tilesWanted), static_cast<int32>(Progress.tilesPending),
			static_cast<int64>(Progress.sequence));
	});
}

void FWorldBridgeActorSink::onError(const SessionError& Error)
{
	OnGameThread([Generation = Generation, Code = Error.code, Message = ToFString(Error.message)](AWorldBridgeActor& Actor) {
		Actor.ReportError(Generation, Code, Message);
	});
}

void FWorldBridgeActorSink::onConnection(ConnectionState State, const std::string& Detail)
{
	if (State != ConnectionState::Reconnecting && State != ConnectionState::Failed)
	{
		return;  // Connected is reported with the hello; Connecting and Stopped need no event
	}
	OnGameThread([Generation = Generation, bFailed = State == ConnectionState::Failed, Text = ToFString(Detail)](
					 AWorldBridgeActor& Actor) { Actor.ReportConnection(Generation, bFailed, Text); });
}
