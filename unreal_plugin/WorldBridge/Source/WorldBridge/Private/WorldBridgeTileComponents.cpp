#include "WorldBridgeTileComponents.h"

#include "Engine/Texture2D.h"
#include "ImageUtils.h"
#include "Materials/MaterialInstanceDynamic.h"
#include "NiagaraComponent.h"
#include "NiagaraSystem.h"
#include "ProceduralMeshComponent.h"

namespace
{
// One texture from texel data: UTexture2D::CreateTransient, then the mip's bulk data (UE 5.0+).
UTexture2D* MakeTexture(int32 Width, int32 Height, EPixelFormat Format, const void* Texels, int64 Bytes, bool bSRGB)
{
	UTexture2D* Texture = UTexture2D::CreateTransient(Width, Height, Format);
	if (!Texture)
	{
		return nullptr;
	}
	Texture->SRGB = bSRGB;
	Texture->Filter = TF_Nearest;  // texels are splats, never blended
	Texture->NeverStream = true;
	FTexture2DMipMap& Mip = Texture->GetPlatformData()->Mips[0];
	void* Destination = Mip.BulkData.Lock(LOCK_READ_WRITE);
	FMemory::Memcpy(Destination, Texels, Bytes);
	Mip.BulkData.Unlock();
	Texture->UpdateResource();
	return Texture;
}
}  // namespace

USceneComponent* MakeSplatTileComponent(AActor& Owner, USceneComponent& Parent, UNiagaraSystem& System,
	const WorldBridge::UnrealSplatTextures& Tile)
{
	if (Tile.count == 0)
	{
		return nullptr;  // an empty tile draws nothing
	}
	const int32 W = static_cast<int32>(Tile.width);
	const int32 H = static_cast<int32>(Tile.rows);
	const int64 Texels = int64{W} * H;
	UTexture2D* Positions = MakeTexture(W, H, PF_A32B32G32R32F, Tile.positions.data(), Texels * 16, false);
	UTexture2D* Rotations = MakeTexture(W, H, PF_FloatRGBA, Tile.rotations.data(), Texels * 8, false);
	UTexture2D* Scales = MakeTexture(W, H, PF_A32B32G32R32F, Tile.scales.data(), Texels * 16, false);
	UTexture2D* Colors = MakeTexture(W, H, PF_R8G8B8A8, Tile.colors.data(), Texels * 4, true);

	UNiagaraComponent* Component = NewObject<UNiagaraComponent>(&Owner);
	Component->SetAsset(&System);
	Component->SetupAttachment(&Parent);
	Component->SetRelativeLocation(FVector(Tile.originCm[0], Tile.originCm[1], Tile.originCm[2]));
	Component->SetVariableTexture(TEXT("SplatPositions"), Positions);
	Component->SetVariableTexture(TEXT("SplatRotations"), Rotations);
	Component->SetVariableTexture(TEXT("SplatScales"), Scales);
	Component->SetVariableTexture(TEXT("SplatColors"), Colors);
	Component->SetVariableInt(TEXT("SplatCount"), static_cast<int32>(Tile.count));
	Component->SetVariableInt(TEXT("TextureWidth"), W);
	Component->RegisterComponent();
	Component->Activate(true);
	return Component;
}

USceneComponent* MakeMeshTileComponent(AActor& Owner, USceneComponent& Parent, UMaterialInterface* Material,
	const WorldBridge::UnrealMesh& Mesh, const TArray64<uint8>& ImageBytes)
{
	const int32 VertexCount = static_cast<int32>(Mesh.positions.size() / 3);
	TArray<FVector> Vertices;
	TArray<FVector> Normals;
	TArray<FVector2D> UV0;
	TArray<int32> Triangles(Mesh.triangles.data(), static_cast<int32>(Mesh.triangles.size()));
	Vertices.Reserve(VertexCount);
	for (int32 i = 0; i < VertexCount; ++i)
	{
		Vertices.Emplace(Mesh.positions[3 * i], Mesh.positions[3 * i + 1], Mesh.positions[3 * i + 2]);
		if (!Mesh.normals.empty())
		{
			Normals.Emplace(Mesh.normals[3 * i], Mesh.normals[3 * i + 1], Mesh.normals[3 * i + 2]);
		}
		if (!Mesh.uvs.empty())
		{
			UV0.Emplace(Mesh.uvs[2 * i], Mesh.uvs[2 * i + 1]);  // glTF's v runs down the image, as Unreal's
		}
	}

	UProceduralMeshComponent* Component = NewObject<UProceduralMeshComponent>(&Owner);
	Component->SetupAttachment(&Parent);
	Component->SetRelativeLocation(FVector(Mesh.translationCm[0], Mesh.translationCm[1], Mesh.translationCm[2]));
	Component->CreateMeshSection_LinearColor(0, Vertices, Triangles, Normals, UV0, TArray<FLinearColor>(),
		TArray<FProcMeshTangent>(), /*bCreateCollision=*/true);
	if (Material)
	{
		UMaterialInstanceDynamic* Instance = UMaterialInstanceDynamic::Create(Material, &Owner);
		if (UTexture2D* Texture = ImageBytes.IsEmpty() ? nullptr : FImageUtils::ImportBufferAsTexture2D(ImageBytes))
		{
			Instance->SetTextureParameterValue(TEXT("BaseColor"), Texture);
		}
		Component->SetMaterial(0, Instance);
	}
	Component->RegisterComponent();
	return Component;
}
