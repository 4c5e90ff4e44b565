#include "Modules/ModuleManager.h"

// The runtime module has no start-up work: the core starts with the first AWorldBridgeActor.
IMPLEMENT_MODULE(FDefaultModuleImpl, WorldBridge)
