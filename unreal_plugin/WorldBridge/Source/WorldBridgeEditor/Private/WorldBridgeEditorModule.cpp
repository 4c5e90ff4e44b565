// Editor commands in Tools > WorldBridge:
// - "Generate world from photo": pick a photo, CreateWorld on the server, place an AWorldBridgeActor
//   streaming it in the open level.
// - "Bake region to assets": fetch the mesh tiles (GLB) of the selected WorldBridge actor's world
//   within BakeRadiusMetres of its spawn and import them as assets through Interchange.
// Network calls run on pool threads; results come back to the game thread with AsyncTask.
#include "Async/Async.h"
#include "DesktopPlatformModule.h"
#include "Editor.h"
#include "Engine/Selection.h"
#include "Framework/Application/SlateApplication.h"
#include "Framework/Notifications/NotificationManager.h"
#include "IDesktopPlatform.h"
#include "InterchangeManager.h"
#include "Misc/FileHelper.h"
#include "Misc/Paths.h"
#include "Modules/ModuleManager.h"
#include "ToolMenus.h"
#include "Widgets/Notifications/SNotificationList.h"
#include "WorldBridgeActor.h"
#include "WorldBridgeAsyncActions.h"
#include "WorldBridgeCore/TileKey.h"
#include "WorldBridgeCore/WorldClient.h"
#include "WorldBridgeSettings.h"

#include <cmath>

#define LOCTEXT_NAMESPACE "WorldBridgeEditor"

namespace
{
void Notify(const FText& Message, bool bSuccess)
{
	FNotificationInfo Info(Message);
	Info.ExpireDuration = bSuccess ? 5.0f : 10.0f;
	Info.bUseSuccessFailIcons = true;
	TSharedPtr<SNotificationItem> Item = FSlateNotificationManager::Get().AddNotification(Info);
	if (Item)
	{
		Item->SetCompletionState(bSuccess ? SNotificationItem::CS_Success : SNotificationItem::CS_Fail);
	}
}

std::string Utf8(const FString& Text) { return std::string(TCHAR_TO_UTF8(*Text)); }

// The LOD-0 tiles whose squares come within `RadiusM` of the spawn (the wire's frame: x, z).
std::vector<WorldBridge::TileKey> TilesAroundSpawn(const WorldBridge::WorldInfo& World, double RadiusM)
{
	std::vector<WorldBridge::TileKey> Keys;
	const double Edge = World.baseTileM;
	const double X = World.spawnPosition.x, Z = World.spawnPosition.z;
	const int64 X0 = static_cast<int64>(std::floor((X - RadiusM) / Edge)), X1 = static_cast<int64>(std::floor((X + RadiusM) / Edge));
	const int64 Z0 = static_cast<int64>(std::floor((Z - RadiusM) / Edge)), Z1 = static_cast<int64>(std::floor((Z + RadiusM) / Edge));
	for (int64 IX = X0; IX <= X1; ++IX)
	{
		for (int64 IZ = Z0; IZ <= Z1; ++IZ)
		{
			const double DX = FMath::Max3(IX * Edge - X, 0.0, X - (IX + 1) * Edge);
			const double DZ = FMath::Max3(IZ * Edge - Z, 0.0, Z - (IZ + 1) * Edge);
			if (DX * DX + DZ * DZ <= RadiusM * RadiusM)
			{
				Keys.push_back({0, IX, IZ});
			}
		}
	}
	return Keys;
}
}  // namespace

class FWorldBridgeEditorModule : public IModuleInterface
{
public:
	virtual void StartupModule() override
	{
		UToolMenus::RegisterStartupCallback(FSimpleMulticastDelegate::FDelegate::CreateRaw(this, &FWorldBridgeEditorModule::RegisterMenus));
	}

	virtual void ShutdownModule() override
	{
		UToolMenus::UnRegisterStartupCallback(this);
		UToolMenus::UnregisterOwner(this);
	}

private:
	void RegisterMenus()
	{
		FToolMenuOwnerScoped OwnerScoped(this);
		UToolMenu* Menu = UToolMenus::Get()->ExtendMenu("LevelEditor.MainMenu.Tools");
		FToolMenuSection& Section = Menu->FindOrAddSection("WorldBridge", LOCTEXT("Section", "WorldBridge"));
		Section.AddMenuEntry("WorldBridgeGenerate", LOCTEXT("Generate", "Generate world from photo..."),
			LOCTEXT("GenerateTip", "Make a world from a photo on the WorldBridge server and stream it into this level"),
			FSlateIcon(), FUIAction(FExecuteAction::CreateRaw(this, &FWorldBridgeEditorModule::GenerateWorldFromPhoto)));
		Section.AddMenuEntry("WorldBridgeBake", LOCTEXT("Bake", "Bake region to assets"),
			LOCTEXT("BakeTip", "Import the selected WorldBridge world's mesh tiles around its spawn as static mesh assets (Interchange)"),
			FSlateIcon(), FUIAction(FExecuteAction::CreateRaw(this, &FWorldBridgeEditorModule::BakeRegionToAssets)));
	}

	void GenerateWorldFromPhoto()
	{
		IDesktopPlatform* Desktop = FDesktopPlatformModule::Get();
		TArray<FString> Files;
		if (!Desktop || !Desktop->OpenFileDialog(FSlateApplication::Get().FindBestParentWindowHandleForDialogs(nullptr),
							 TEXT("Choose a photo"), FPaths::ProjectDir(), TEXT(""),
							 TEXT("Photos (*.png;*.jpg;*.jpeg;*.webp)|*.png;*.jpg;*.jpeg;*.webp"), EFileDialogFlags::None, Files) ||
			Files.IsEmpty())
		{
			return;
		}
		TArray<uint8> Photo;
		if (!FFileHelper::LoadFileToArray(Photo, *Files[0]))
		{
			Notify(FText::Format(LOCTEXT("Unreadable", "Could not read {0}"), FText::FromString(Files[0])), false);
			return;
		}
		const UWorldBridgeSettings* Settings = GetDefault<UWorldBridgeSettings>();
		Notify(LOCTEXT("Creating", "WorldBridge: making the world..."), true);
		Async(EAsyncExecution::ThreadPool,
			[Server = Utf8(Settings->ServerAddress), Token = Utf8(Settings->Token), Name = Utf8(FPaths::GetBaseFilename(Files[0])),
				Bytes = std::vector<uint8_t>(Photo.GetData(), Photo.GetData() + Photo.Num())]() {
				FWorldBridgeWorldInfo World;
				FString Failure;
				try
				{
					World = ToBlueprintWorldInfo(WorldBridge::WorldClient(Server, Token).createWorld(Bytes, Name));
				}
				catch (const WorldBridge::RpcError& Error)
				{
					Failure = UTF8_TO_TCHAR(Error.what());
				}
				AsyncTask(ENamedThreads::GameThread, [World, Failure]() {
					if (!Failure.IsEmpty())
					{
						Notify(FText::FromString(Failure), false);
						return;
					}
					UWorld* Level = GEditor->GetEditorWorldContext().World();
					AWorldBridgeActor* Actor = Level->SpawnActor<AWorldBridgeActor>();
					Actor->WorldId = World.Id;
					Actor->SetActorLabel(FString::Printf(TEXT("WorldBridge %s"), *World.Name));
					Notify(FText::Format(LOCTEXT("Created", "WorldBridge: world {0} placed; press Play to stream it"), FText::FromString(World.Id)), true);
				});
			});
	}

	void BakeRegionToAssets()
	{
		AWorldBridgeActor* Actor = GEditor->GetSelectedActors()->GetTop<AWorldBridgeActor>();
		if (!Actor || Actor->WorldId.IsEmpty())
		{
			Notify(LOCTEXT("SelectActor", "Select a WorldBridge actor with a world id first"), false);
			return;
		}
		const UWorldBridgeSettings* Settings = GetDefault<UWorldBridgeSettings>();
		const FString Folder = FPaths::ProjectSavedDir() / TEXT("WorldBridge") / Actor->WorldId;
		const FString ContentPath = Settings->BakeContentPath / Actor->WorldId;
		Async(EAsyncExecution::ThreadPool,
			[Server = Utf8(Settings->ServerAddress), Token = Utf8(Settings->Token), Id = Utf8(Actor->WorldId),
				Radius = static_cast<double>(Settings->BakeRadiusMetres), Folder, ContentPath]() {
				TArray<FString> Files;
				FString Failure;
				try
				{
					WorldBridge::WorldClient Client(Server, Token);
					for (const WorldBridge::TileKey& Key : TilesAroundSpawn(Client.getWorld(Id), Radius))
					{
						const WorldBridge::AssembledTile Tile = Client.getTile(Id, Key, WorldBridge::TileFormat::Glb);
						const FString Path = Folder / FString(UTF8_TO_TCHAR(Key.fileStem().c_str())) + TEXT(".glb");
						if (!FFileHelper::SaveArrayToFile(TArrayView<const uint8>(Tile.bytes.data(), static_cast<int32>(Tile.bytes.size())), *Path))
						{
							Failure = FString::Printf(TEXT("could not write %s"), *Path);
							break;
						}
						Files.Add(Path);
					}
				}
				catch (const std::exception& Error)
				{
					Failure = UTF8_TO_TCHAR(Error.what());
				}
				AsyncTask(ENamedThreads::GameThread, [Files, Failure, ContentPath]() {
					if (!Failure.IsEmpty())
					{
						Notify(FText::FromString(Failure), false);
						return;
					}
					// Each GLB through Interchange's glTF pipeline into the content folder.
					UInterchangeManager& Interchange = UInterchangeManager::GetInterchangeManager();
					for (const FString& File : Files)
					{
						UInterchangeSourceData* Source = UInterchangeManager::CreateSourceData(File);
						FImportAssetParameters Parameters;
						Parameters.bIsAutomated = true;
						Interchange.ImportAsset(ContentPath, Source, Parameters);
					}
					Notify(FText::Format(LOCTEXT("Baked", "WorldBridge: importing {0} tiles into {1}"), FText::AsNumber(Files.Num()),
							   FText::FromString(ContentPath)),
						true);
				});
			});
	}
};

IMPLEMENT_MODULE(FWorldBridgeEditorModule, WorldBridgeEditor)

#undef LOCTEXT_NAMESPACE
