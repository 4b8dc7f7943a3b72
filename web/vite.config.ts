import { resolve } from "node:path";
import { defineConfig } from "vite";

// The output directory comes from build.rs (MEETPLANE_WEB_OUT, inside Cargo's OUT_DIR) so
// built assets never land in the source tree; `npm run build` alone writes to dist/.
// Two pages share the assets folder: the dashboard (index.html, served at `/`) and the
// meeting (meeting.html, served at `/join/{domain}/{room}`).
export default defineConfig({
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: process.env.MEETPLANE_WEB_OUT ?? "dist",
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: {
      input: {
        dashboard: resolve(import.meta.dirname, "index.html"),
        meeting: resolve(import.meta.dirname, "meeting.html"),
      },
    },
  },
});
