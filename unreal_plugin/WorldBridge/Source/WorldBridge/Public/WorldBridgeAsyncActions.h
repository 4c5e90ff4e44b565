// Blueprint async nodes over the core's unary calls (WorldClient), run on a worker thread and
// answered on the game thread.
#pragma once

#include "CoreMinimal.h"
#include "Kismet/BlueprintAsyncActionBase.h"
#include "WorldBridgeTypes.h"

#include "WorldBridgeAsyncActions.generated.h"

DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldBridgeWorldResult, const FWorldBridgeWorldInfo&, World);
DECLARE_DYNAMIC_MULTICAST_DELEGATE_OneParam(FWorldBridgeFailure, const FString&, Message);

UCLASS()
class WORLDBRIDGE_API UWorldBridgeWorldAction : public UBlueprintAsyncActionBase
{
	GENERATED_BODY()

public:
	/** Make (or find) the world of a photo file (PNG, JPEG or WebP) on the server in the settings. */
	UFUNCTION(BlueprintCallable, Category = "WorldBridge", meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject"))
	static UWorldBridgeWorldAction* CreateWorldFromPhoto(UObject* WorldContextObject, const FString& PhotoPath);

	/** A world's facts, its spawn among them. */
	UFUNCTION(BlueprintCallable, Category = "WorldBridge", meta = (BlueprintInternalUseOnly = "true", WorldContext = "WorldContextObject"))
	static UWorldBridgeWorldAction* GetWorldInfo(UObject* WorldContextObject, const FString& WorldId);

	UPROPERTY(BlueprintAssignable)
	FWorldBridgeWorldResult OnSuccess;

	UPROPERTY(BlueprintAssignable)
	FWorldBridgeFailure OnFailure;

	virtual void Activate() override;

private:
	FString PhotoPath;  // create when set, else get
	FString WorldId;
};

namespace WorldBridge
{
struct WorldInfo;
}

/** The core's world facts in Unreal's frame (the editor module uses it too). */
WORLDBRIDGE_API FWorldBridgeWorldInfo ToBlueprintWorldInfo(const WorldBridge::WorldInfo& Info);
