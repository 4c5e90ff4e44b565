// Blueprint-visible values of the WorldBridge plugin. Units are Unreal's (cm, Z up) unless named.
#pragma once

#include "CoreMinimal.h"

#include "WorldBridgeTypes.generated.h"

/** A tile of the world's quadtree: LOD 0 is the finest; a tile's edge is BaseTileMetres * 2^Lod. */
USTRUCT(BlueprintType)
struct WORLDBRIDGE_API FWorldBridgeTileKey
{
	GENERATED_BODY()

	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "WorldBridge")
	int32 Lod = 0;

	/** Index along the wire's X (Unreal's +Y, right). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "WorldBridge")
	int64 IX = 0;

	/** Index along the wire's Z (Unreal's -X, backwards). */
	UPROPERTY(EditAnywhere, BlueprintReadWrite, Category = "WorldBridge")
	int64 IZ = 0;

	bool operator==(const FWorldBridgeTileKey& Other) const { return Lod == Other.Lod && IX == Other.IX && IZ == Other.IZ; }
	friend uint32 GetTypeHash(const FWorldBridgeTileKey& Key)
	{
		return HashCombine(HashCombine(::GetTypeHash(Key.Lod), ::GetTypeHash(Key.IX)), ::GetTypeHash(Key.IZ));
	}
};

/** A world on the server, its spawn in Unreal's frame: stand there to see the photo. */
USTRUCT(BlueprintType)
struct WORLDBRIDGE_API FWorldBridgeWorldInfo
{
	GENERATED_BODY()

	UPROPERTY(BlueprintReadOnly, Category = "WorldBridge")
	FString Id;

	UPROPERTY(BlueprintReadOnly, Category = "WorldBridge")
	FString Name;

	/** Edge of a LOD-0 tile, metres. */
	UPROPERTY(BlueprintReadOnly, Category = "WorldBridge")
	double BaseTileMetres = 32.0;

	/** Centimetres, relative to the WorldBridge actor. */
	UPROPERTY(BlueprintReadOnly, Category = "WorldBridge")
	FVector SpawnLocation = FVector::ZeroVector;

	UPROPERTY(BlueprintReadOnly, Category = "WorldBridge")
	FRotator SpawnRotation = FRotator::ZeroRotator;
};

/** How tiles are drawn: the server sends each tile in the format this names. */
UENUM(BlueprintType)
enum class EWorldBridgeRepresentation : uint8
{
	/** Gaussian splats in the GPU-ready splat-textures format, drawn by the Niagara system in the settings. */
	Splats,
	/** Textured heightfield meshes (GLB), built as procedural mesh components. */
	Meshes
};
