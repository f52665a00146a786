import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** The app is served by the API process at `/`; `npm run dev --prefix web` proxies the API for hot reload. */
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, target: 'es2022' },
  server: {
    proxy: { '/api': process.env.API_URL ?? 'http://localhost:3000' },
  },
});
