// Bundled by tests/cesium_browser.py with esbuild into one ES module the test page imports: the
// page sees CesiumJS exactly as an application using the npm package does.
export * from '@cesium/engine';
