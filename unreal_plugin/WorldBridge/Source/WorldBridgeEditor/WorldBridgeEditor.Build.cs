// Editor-only commands over the runtime module (the runtime never depends on this one).
using UnrealBuildTool;

public class WorldBridgeEditor : ModuleRules
{
	public WorldBridgeEditor(ReadOnlyTargetRules Target) : base(Target)
	{
		PCHUsage = PCHUsageMode.UseExplicitOrSharedPCHs;
		CppStandard = CppStandardVersion.Cpp17;
		bEnableExceptions = true;

		PrivateDependencyModuleNames.AddRange(new string[] {
			"Core", "CoreUObject", "Engine", "UnrealEd", "Slate", "SlateCore", "ToolMenus", "DesktopPlatform",
			"InterchangeCore", "InterchangeEngine", "WorldBridge", "WorldBridgeCoreLibrary"
		});
	}
}
