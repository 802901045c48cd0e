// The app calls /graphql on its own origin; `vite` and `vite preview` forward it to Switchboard,
// so the browser never makes a cross-origin request and Switchboard needs no CORS setting.
// `ws: true` forwards the WebSocket upgrade too: live call events use graphql-ws on /graphql.
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const switchboard = process.env.SWITCHBOARD_URL ?? 'http://localhost:4000';
const proxy = { '/graphql': { target: switchboard, changeOrigin: true, ws: true } };

export default defineConfig({
  plugins: [react()],
  server: { proxy },
  preview: { proxy },
});
