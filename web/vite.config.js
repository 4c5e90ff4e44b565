// Builds the page into the Python package (bridge/api/viewer/), which the server serves as is:
// users run the committed build and need no Node.
import { defineConfig } from 'vite';

export default defineConfig({
    base: './',
    build: {
        outDir: '../bridge/api/viewer',
        emptyOutDir: true,
        assetsDir: 'assets',
        target: 'es2022',
        sourcemap: false,
        chunkSizeWarningLimit: 1500,
    },
    worker: { format: 'es' },
});
