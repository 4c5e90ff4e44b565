// Bundled by tests/cesium_browser.py with esbuild into the one ES module the test page imports:
// the page sees CesiumJS exactly as an application bundling the npm package does.
export * from '@cesium/engine';
