// The runtime module: adapts the engine-free core (WorldBridgeCoreLibrary) to Unreal. No gRPC or
// protobuf header is included here; only the core's own headers.
using UnrealBuildTool;

public class WorldBridge : ModuleRules
{
	public WorldBridge(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		// The core reports bad tiles with exceptions, caught inside its network thread; the adapter
		// calls only functions that do not throw, but the headers declare exception types.
		bEnableExceptions = true;

		PublicDependencyModuleNames.AddRange(new string[] {
			"Core", "CoreUObject", "Engine", "DeveloperSettings", "ProceduralMeshComponent", "Niagara"
		});
		PrivateDependencyModuleNames.AddRange(new string[] {
			"WorldBridgeCoreLibrary", "RenderCore", "RHI", "ImageCore"
		});
	}
}
