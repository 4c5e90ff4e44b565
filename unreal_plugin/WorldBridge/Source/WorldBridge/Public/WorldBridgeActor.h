// The world around the player: streams tiles for the player camera's view through the core and
// draws the hand-over rule's tiles, splats through Niagara or meshes as procedural meshes. The
// actor's transform places the world (leave it at the origin to match the server's coordinates).
#pragma once

#include "CoreMinimal.h"
#include "GameFramework/Actor.h"
#include "WorldBridgeTypes.h"

#include <memory>

#include "WorldBridgeActor.generated.h"

namespace WorldBridge
{
class StreamSession;
}
class FWorldBridgeTaskRunner;
struct FWorldBridgePreparedChange;

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldBridgeConnectedEvent, const FString&, SessionId);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldBridgeTileEvent, const FWorldBridgeTileKey&, Key);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_ThreeParams(FWorldBridgeProgressEvent, int32, TilesWanted, int32, TilesPending, int64, Sequence);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_TwoParams(FWorldBridgeErrorEvent, int32, Code, const FString&, Message);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldBridgeConnectionEvent, const FString&, Detail);

UCLASS(BlueprintType, Blueprintable, ClassGroup = "WorldBridge")
class WORLDBRIDGE_API AWorldBridgeActor : public AActor
{
	GENERATED_BODY()

public:
	AWorldBridgeActor();
	virtual ~AWorldBridgeActor() override;  // defined where the core's types are complete

	/** The world to stream (its id, as CreateWorldFromPhoto or the server's list gives it). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "WorldBridge")
	FString WorldId;

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "WorldBridge")
	bool bStreamOnBeginPlay = true;

	/** Connect and stream around the player camera. The network work runs on threads of its own. */
	UFUNCTION(BlueprintCallable, Category = "WorldBridge")
	void StartStreaming();

	/** Close the stream and remove every tile. */
	UFUNCTION(BlueprintCallable, Category = "WorldBridge")
	void StopStreaming();

	UFUNCTION(BlueprintPure, Category = "WorldBridge")
	bool IsStreaming() const { return Session != nullptr; }

	/** The tiles drawn now (the LOD hand-over rule's choice among those held). */
	UFUNCTION(BlueprintPure, Category = "WorldBridge")
	TArray<FWorldBridgeTileKey> GetDrawnTiles() const;

	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeConnectedEvent OnConnected;

	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeTileEvent OnTileShown;

	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeTileEvent OnTileHidden;

	/** A directive changed a held tile on the server: its new content follows through OnTileShown
	 *  (the old stays drawn until then). */
	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeTileEvent OnTileChanged;

	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeProgressEvent OnProgress;

	/** A tile the server could not make, or one that arrived damaged: the stream goes on. */
	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeErrorEvent OnStreamError;

	/** The connection dropped; the core reconnects with backoff and resumes. */
	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeConnectionEvent OnReconnecting;

	/** The server refused the stream for good (unknown world, bad token). */
	UPROPERTY(BlueprintAssignable, Category = "WorldBridge")
	FWorldBridgeConnectionEvent OnConnectionFailed;

	// Called on the game thread by the session's sink (Private/WorldBridgeExternals.cpp).
	void ApplyDrawChange(uint32 Generation, const FWorldBridgePreparedChange& Change);
	void ReportConnected(uint32 Generation, const FString& SessionId);
	void ReportTileChanged(uint32 Generation, const FWorldBridgeTileKey& Key);
	void ReportProgress(uint32 Generation, int32 Wanted, int32 Pending, int64 Sequence);
	void ReportError(uint32 Generation, int32 Code, const FString& Message);
	void ReportConnection(uint32 Generation, bool bFailed, const FString& Detail);

protected:
	virtual void BeginPlay() override;
	virtual void EndPlay(const EEndPlayReason::Type Reason) override;
	virtual void Tick(float DeltaSeconds) override;

private:
	void SendCameraView(float DeltaSeconds);
	void RemoveTile(const FWorldBridgeTileKey& Key);

	UPROPERTY()
	TMap<FWorldBridgeTileKey, TObjectPtr<USceneComponent>> TileComponents;

	// Destroyed in this order: the session (it stops and waits for its tasks), then the runner.
	std::shared_ptr<FWorldBridgeTaskRunner> Runner;
	std::unique_ptr<WorldBridge::StreamSession> Session;
	uint32 Generation = 0;  // events of an older stream are ignored
	FVector LastCameraLocation = FVector::ZeroVector;
	bool bHaveLastCamera = false;
};
