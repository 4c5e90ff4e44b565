// Components for one tile, made on the game thread from arrays already in Unreal's frame.
#pragma once

#include "CoreMinimal.h"
#include "WorldBridgeExternals.h"

class USceneComponent;
class UNiagaraSystem;
class UMaterialInterface;

/**
 * Splats: four transient textures (positions and scales PF_A32B32G32R32F, rotations PF_FloatRGBA,
 * colours PF_R8G8B8A8 sRGB) handed to a Niagara component of `System` as user parameters.
 */
USceneComponent* MakeSplatTileComponent(AActor& Owner, USceneComponent& Parent, UNiagaraSystem& System,
	const WorldBridge::UnrealSplatTextures& Tile);

/** Meshes: a UProceduralMeshComponent with the tile's texture in a dynamic instance of `Material`. */
USceneComponent* MakeMeshTileComponent(AActor& Owner, USceneComponent& Parent, UMaterialInterface* Material,
	const WorldBridge::UnrealMesh& Mesh, const TArray64<uint8>& ImageBytes);
