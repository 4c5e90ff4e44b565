#include "WorldBridgeActor.h"

#include "Camera/PlayerCameraManager.h"
#include "Engine/GameViewportClient.h"
#include "Engine/Engine.h"
#include "Kismet/GameplayStatics.h"
#include "Materials/MaterialInterface.h"
#include "NiagaraSystem.h"
#include "WorldBridgeCore/StreamSession.h"
#include "WorldBridgeExternals.h"
#include "WorldBridgeSettings.h"
#include "WorldBridgeTileComponents.h"

using namespace WorldBridge;

AWorldBridgeActor::AWorldBridgeActor()
{
	PrimaryActorTick.bCanEverTick = true;
	RootComponent = CreateDefaultSubobject<USceneComponent>(TEXT("WorldRoot"));
}

AWorldBridgeActor::~AWorldBridgeActor() = default;

void AWorldBridgeActor::BeginPlay()
{
	Super::BeginPlay();
	if (bStreamOnBeginPlay && !WorldId.IsEmpty())
	{
		StartStreaming();
	}
}

void AWorldBridgeActor::EndPlay(const EEndPlayReason::Type Reason)
{
	StopStreaming();
	Super::EndPlay(Reason);
}

void AWorldBridgeActor::StartStreaming()
{
	StopStreaming();
	if (WorldId.IsEmpty())
	{
		UE_LOG(LogWorldBridge, Error, TEXT("%s: set WorldId before streaming"), *GetName());
		return;
	}
	const UWorldBridgeSettings* Settings = GetDefault<UWorldBridgeSettings>();
	SessionOptions Options;
	Options.target = TCHAR_TO_UTF8(*Settings->ServerAddress);
	Options.worldId = TCHAR_TO_UTF8(*WorldId);
	Options.token = TCHAR_TO_UTF8(*Settings->Token);
	Options.formats = {Settings->Representation == EWorldBridgeRepresentation::Meshes ? TileFormat::Glb : TileFormat::SplatTextures};
	Options.viewRadiusM = Settings->ViewRadiusMetres;
	Options.cacheBudgetBytes = static_cast<uint64_t>(Settings->CacheBudgetMiB) << 20;
	Options.maxViewsPerSecond = Settings->MaxViewUpdatesPerSecond;
	Options.keepaliveTimeMs = static_cast<int>(Settings->KeepaliveSeconds * 1000);

	++Generation;
	Runner = std::make_shared<FWorldBridgeTaskRunner>();
	Externals Services{std::make_shared<FWorldBridgeLogger>(), Runner, std::make_shared<FWorldBridgeActorSink>(this, Generation)};
	Session = std::make_unique<StreamSession>(Options, Services);
	Session->start();
	bHaveLastCamera = false;
}

void AWorldBridgeActor::StopStreaming()
{
	Session.reset();  // stops the stream and waits for its tasks
	Runner.reset();
	++Generation;     // anything still queued for the game thread is now stale
	TArray<FWorldBridgeTileKey> Keys;
	TileComponents.GetKeys(Keys);
	for (const FWorldBridgeTileKey& Key : Keys)
	{
		RemoveTile(Key);
	}
}

TArray<FWorldBridgeTileKey> AWorldBridgeActor::GetDrawnTiles() const
{
	TArray<FWorldBridgeTileKey> Keys;
	TileComponents.GetKeys(Keys);
	return Keys;
}

void AWorldBridgeActor::Tick(float DeltaSeconds)
{
	Super::Tick(DeltaSeconds);
	if (Session)
	{
		SendCameraView(DeltaSeconds);
	}
}

void AWorldBridgeActor::SendCameraView(float DeltaSeconds)
{
	const APlayerCameraManager* Camera = UGameplayStatics::GetPlayerCameraManager(this, 0);
	if (!Camera)
	{
		return;
	}
	// The camera in the actor's space (the actor places the world), then in the wire's frame.
	const FTransform& WorldToTiles = GetActorTransform();
	const FVector Location = WorldToTiles.InverseTransformPosition(Camera->GetCameraLocation());
	const FVector Forward = WorldToTiles.InverseTransformVectorNoScale(Camera->GetCameraRotation().Vector());
	const FVector Velocity = bHaveLastCamera && DeltaSeconds > 0 ? (Location - LastCameraLocation) / DeltaSeconds : FVector::ZeroVector;
	LastCameraLocation = Location;
	bHaveLastCamera = true;

	FVector2D ViewportSize(1280, 720);
	if (GEngine && GEngine->GameViewport)
	{
		GEngine->GameViewport->GetViewportSize(ViewportSize);
	}
	const double Aspect = ViewportSize.Y > 0 ? ViewportSize.X / ViewportSize.Y : 16.0 / 9.0;
	// Unreal's FOV is horizontal; the wire wants the vertical one.
	const double HorizontalRad = FMath::DegreesToRadians(Camera->GetFOVAngle());
	const double VerticalDeg = FMath::RadiansToDegrees(2.0 * FMath::Atan(FMath::Tan(HorizontalRad / 2.0) / Aspect));

	ViewState View;
	View.position = fromUnrealPosition({Location.X, Location.Y, Location.Z});
	View.forward = fromUnrealDirection({Forward.X, Forward.Y, Forward.Z});
	View.velocity = fromUnrealPosition({Velocity.X, Velocity.Y, Velocity.Z});
	View.verticalFovDeg = FMath::Clamp(VerticalDeg, 1.0, 170.0);
	View.viewportWidthPx = static_cast<uint32_t>(FMath::Clamp(ViewportSize.X, 1.0, 16384.0));
	View.viewportHeightPx = static_cast<uint32_t>(FMath::Clamp(ViewportSize.Y, 1.0, 16384.0));
	Session->updateView(View);  // coalesced by the core to MaxViewUpdatesPerSecond
}

void AWorldBridgeActor::RemoveTile(const FWorldBridgeTileKey& Key)
{
	TObjectPtr<USceneComponent> Component;
	if (TileComponents.RemoveAndCopyValue(Key, Component) && Component)
	{
		Component->DestroyComponent();
	}
}

void AWorldBridgeActor::ApplyDrawChange(uint32 ForGeneration, const FWorldBridgePreparedChange& Change)
{
	if (ForGeneration != Generation)
	{
		return;
	}
	const UWorldBridgeSettings* Settings = GetDefault<UWorldBridgeSettings>();
	for (const FWorldBridgeTileKey& Key : Change.Hide)
	{
		RemoveTile(Key);
		OnTileHidden.Broadcast(Key);
	}
	for (const FWorldBridgePreparedTile& Tile : Change.Show)
	{
		RemoveTile(Tile.Key);  // new content for a key replaces the old
		USceneComponent* Component = nullptr;
		if (Tile.Mesh)
		{
			const std::vector<uint8_t>& Image = Tile.Source->mesh->image;
			const TArray64<uint8> ImageBytes(Image.data(), static_cast<int64>(Image.size()));
			Component = MakeMeshTileComponent(*this, *RootComponent, Settings->MeshMaterial.LoadSynchronous(), *Tile.Mesh, ImageBytes);
		}
		else if (Tile.Splats)
		{
			UNiagaraSystem* System = Settings->SplatSystem.LoadSynchronous();
			if (!System)
			{
				UE_LOG(LogWorldBridge, Error, TEXT("no splat Niagara system is set in Project Settings > Plugins > WorldBridge"));
				continue;
			}
			Component = MakeSplatTileComponent(*this, *RootComponent, *System, *Tile.Splats);
		}
		if (Component)
		{
			TileComponents.Add(Tile.Key, Component);
		}
		OnTileShown.Broadcast(Tile.Key);
	}
}

void AWorldBridgeActor::ReportConnected(uint32 ForGeneration, const FString& SessionId)
{
	if (ForGeneration == Generation)
	{
		OnConnected.Broadcast(SessionId);
	}
}

void AWorldBridgeActor::ReportTileChanged(uint32 ForGeneration, const FWorldBridgeTileKey& Key)
{
	if (ForGeneration == Generation)
	{
		OnTileChanged.Broadcast(Key);
	}
}

void AWorldBridgeActor::ReportProgress(uint32 ForGeneration, int32 Wanted, int32 Pending, int64 Sequence)
{
	if (ForGeneration == Generation)
	{
		OnProgress.Broadcast(Wanted, Pending, Sequence);
	}
}

void AWorldBridgeActor::ReportError(uint32 ForGeneration, int32 Code, const FString& Message)
{
	if (ForGeneration == Generation)
	{
		OnStreamError.Broadcast(Code, Message);
	}
}

void AWorldBridgeActor::ReportConnection(uint32 ForGeneration, bool bFailed, const FString& Detail)
{
	if (ForGeneration != Generation)
	{
		return;
	}
	if (bFailed)
	{
		OnConnectionFailed.Broadcast(Detail);
	}
	else
	{
		OnReconnecting.Broadcast(Detail);
	}
}
