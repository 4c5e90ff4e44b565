// Project Settings > Plugins > WorldBridge. Defaults are the core's (SessionOptions.h).
#pragma once

#include "CoreMinimal.h"
#include "Engine/DeveloperSettings.h"
#include "WorldBridgeTypes.h"

#include "WorldBridgeSettings.generated.h"

class UNiagaraSystem;
class UMaterialInterface;

UCLASS(Config = Game, DefaultConfig, meta = (DisplayName = "WorldBridge"))
class WORLDBRIDGE_API UWorldBridgeSettings : public UDeveloperSettings
{
	GENERATED_BODY()

public:
	virtual FName GetCategoryName() const override { return TEXT("Plugins"); }

	/** The server's gRPC address, host:port (`worldbridge serve` listens on 50051 by default). */
	UPROPERTY(Config, EditAnywhere, Category = "Server")
	FString ServerAddress = TEXT("127.0.0.1:50051");

	/** Sent as `authorization: Bearer <token>`; needed when the server was started with --token. */
	UPROPERTY(Config, EditAnywhere, Category = "Server")
	FString Token;

	UPROPERTY(Config, EditAnywhere, Category = "Streaming")
	EWorldBridgeRepresentation Representation = EWorldBridgeRepresentation::Splats;

	/** Radius of interest on the ground, metres. 0 keeps the server's default (256). */
	UPROPERTY(Config, EditAnywhere, Category = "Streaming", meta = (ClampMin = "0", ClampMax = "4096", Units = "m"))
	float ViewRadiusMetres = 0.0f;

	/** Decoded tiles kept in memory, MiB; the server keeps the held splats within it. */
	UPROPERTY(Config, EditAnywhere, Category = "Streaming", meta = (ClampMin = "64", ClampMax = "16384"))
	int32 CacheBudgetMiB = 1024;

	/** Camera updates sent per second at most (the core coalesces the rest). */
	UPROPERTY(Config, EditAnywhere, Category = "Streaming", meta = (ClampMin = "1", ClampMax = "60"))
	float MaxViewUpdatesPerSecond = 10.0f;

	/** Keepalive ping interval on an idle connection, seconds (the server permits 5 or more). */
	UPROPERTY(Config, EditAnywhere, Category = "Streaming", meta = (ClampMin = "5", ClampMax = "300", Units = "s"))
	float KeepaliveSeconds = 10.0f;

	/**
	 * Draws one splat tile. It must expose the user parameters SplatPositions, SplatRotations,
	 * SplatScales, SplatColors (textures), SplatCount and TextureWidth (int): particle i samples
	 * texel (i % TextureWidth, i / TextureWidth). Not shipped with the plugin (see the README).
	 */
	UPROPERTY(Config, EditAnywhere, Category = "Rendering")
	TSoftObjectPtr<UNiagaraSystem> SplatSystem;

	/** Material of mesh tiles; its texture parameter BaseColor receives the tile's baked texture. */
	UPROPERTY(Config, EditAnywhere, Category = "Rendering")
	TSoftObjectPtr<UMaterialInterface> MeshMaterial;

	/** "Bake region to assets" takes the LOD-0 mesh tiles within this many metres of the spawn. */
	UPROPERTY(Config, EditAnywhere, Category = "Editor", meta = (ClampMin = "16", ClampMax = "2048", Units = "m"))
	float BakeRadiusMetres = 64.0f;

	/** Where baked tiles are imported. */
	UPROPERTY(Config, EditAnywhere, Category = "Editor")
	FString BakeContentPath = TEXT("/Game/WorldBridge");
};
