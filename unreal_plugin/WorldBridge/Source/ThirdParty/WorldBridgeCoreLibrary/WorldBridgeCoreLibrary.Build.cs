// The engine-free core (Source/WorldBridgeCore) as an external module: Unreal does not compile it,
// it links the shared library that the core's CMake build makes per platform (see the README's
// "Packaging"). gRPC, protobuf and abseil are linked statically *inside* that library with hidden
// symbols, and the core's public headers name none of their types, so the engine's own abseil and
// protobuf copies (used by other engine modules) never meet ours: no clashing symbols, no ODR mix.
using System.IO;
using UnrealBuildTool;

public class WorldBridgeCoreLibrary : ModuleRules
{
	public WorldBridgeCoreLibrary(ReadOnlyTargetRules Target) : base(Target)
	{
		Type = ModuleType.External;

		string CoreSource = Path.Combine(ModuleDirectory, "..", "..", "WorldBridgeCore");
		PublicSystemIncludePaths.Add(Path.Combine(CoreSource, "include"));

		// Where the core's CMake build installs per platform (README, "Packaging"):
		//   cmake -S Source/WorldBridgeCore -B build -DWORLDBRIDGE_SHARED=ON -DWORLDBRIDGE_TESTS=OFF
		//         -DCMAKE_INSTALL_PREFIX=Binaries/ThirdParty/WorldBridgeCore/<Platform>
		//   cmake --build build --config Release --target install
		string Binaries = Path.Combine(PluginDirectory, "Binaries", "ThirdParty", "WorldBridgeCore", Target.Platform.ToString());

		if (Target.Platform == UnrealTargetPlatform.Win64)
		{
			// The DLL's import library; the DLL is staged beside the module's own DLL, where
			// LoadLibraryEx (LOAD_WITH_ALTERED_SEARCH_PATH, as the engine loads modules) finds it.
			PublicAdditionalLibraries.Add(Path.Combine(Binaries, "WorldBridgeCore.lib"));
			RuntimeDependencies.Add("$(BinaryOutputDir)/WorldBridgeCore.dll", Path.Combine(Binaries, "WorldBridgeCore.dll"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Linux)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Binaries, "libWorldBridgeCore.so"));
			RuntimeDependencies.Add("$(BinaryOutputDir)/libWorldBridgeCore.so", Path.Combine(Binaries, "libWorldBridgeCore.so"));
		}
		else if (Target.Platform == UnrealTargetPlatform.Mac)
		{
			PublicAdditionalLibraries.Add(Path.Combine(Binaries, "libWorldBridgeCore.dylib"));
			RuntimeDependencies.Add("$(BinaryOutputDir)/libWorldBridgeCore.dylib", Path.Combine(Binaries, "libWorldBridgeCore.dylib"));
		}
	}
}
