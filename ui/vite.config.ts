import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The hub serves the built app under /ui/ (src/hub/portal.ts).
export default defineConfig({
  base: '/ui/',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 2000 },
});
