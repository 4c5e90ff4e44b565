#include "WorldBridgeAsyncActions.h"

#include "Async/Async.h"
#include "Misc/FileHelper.h"
#include "WorldBridgeCore/Frame.h"
#include "WorldBridgeCore/WorldClient.h"
#include "WorldBridgeExternals.h"
#include "WorldBridgeSettings.h"

using namespace WorldBridge;

FWorldBridgeWorldInfo ToBlueprintWorldInfo(const WorldInfo& Info)
{
	FWorldBridgeWorldInfo Out;
	Out.Id = ToFString(Info.id);
	Out.Name = ToFString(Info.name);
	Out.BaseTileMetres = Info.baseTileM;
	const Vec3d Spawn = toUnrealPosition(Info.spawnPosition);
	Out.SpawnLocation = FVector(Spawn.x, Spawn.y, Spawn.z);
	const Vec3d Forward = toUnrealDirection(Info.spawnForward);
	Out.SpawnRotation = FVector(Forward.x, Forward.y, Forward.z).Rotation();
	return Out;
}

UWorldBridgeWorldAction* UWorldBridgeWorldAction::CreateWorldFromPhoto(UObject* WorldContextObject, const FString& PhotoPath)
{
	UWorldBridgeWorldAction* Action = NewObject<UWorldBridgeWorldAction>();
	Action->PhotoPath = PhotoPath;
	Action->RegisterWithGameInstance(WorldContextObject);
	return Action;
}

UWorldBridgeWorldAction* UWorldBridgeWorldAction::GetWorldInfo(UObject* WorldContextObject, const FString& WorldId)
{
	UWorldBridgeWorldAction* Action = NewObject<UWorldBridgeWorldAction>();
	Action->WorldId = WorldId;
	Action->RegisterWithGameInstance(WorldContextObject);
	return Action;
}

void UWorldBridgeWorldAction::Activate()
{
	const UWorldBridgeSettings* Settings = GetDefault<UWorldBridgeSettings>();
	const std::string Server = TCHAR_TO_UTF8(*Settings->ServerAddress);
	const std::string Token = TCHAR_TO_UTF8(*Settings->Token);
	const std::string Id = TCHAR_TO_UTF8(*WorldId);
	TWeakObjectPtr<UWorldBridgeWorldAction> Weak(this);
	// The call blocks on the network: a pool thread, never the game thread.
	Async(EAsyncExecution::ThreadPool, [Weak, Server, Token, Id, Path = PhotoPath]() {
		FWorldBridgeWorldInfo Result;
		FString Failure;
		try
		{
			WorldClient Client(Server, Token);
			if (Path.IsEmpty())
			{
				Result = ToBlueprintWorldInfo(Client.getWorld(Id));
			}
			else
			{
				TArray<uint8> Photo;
				if (!FFileHelper::LoadFileToArray(Photo, *Path))
				{
					Failure = FString::Printf(TEXT("could not read the photo %s"), *Path);
				}
				else
				{
					Result = ToBlueprintWorldInfo(Client.createWorld(std::vector<uint8_t>(Photo.GetData(), Photo.GetData() + Photo.Num())));
				}
			}
		}
		catch (const RpcError& Error)
		{
			Failure = ToFString(Error.what());
		}
		AsyncTask(ENamedThreads::GameThread, [Weak, Result, Failure]() {
			if (UWorldBridgeWorldAction* Action = Weak.Get())
			{
				if (Failure.IsEmpty())
				{
					Action->OnSuccess.Broadcast(Result);
				}
				else
				{
					Action->OnFailure.Broadcast(Failure);
				}
				Action->SetReadyToDestroy();
			}
		});
	});
}
