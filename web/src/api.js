// The server's HTTP API, relative to the page (so the viewer also works behind a path prefix),
// with the bearer token when there is one.

export class ApiError extends Error {
    constructor(status, message) {
        super(message);
        this.name = 'ApiError';
        this.status = status;
    }
}

export class Api {
    constructor(base, token = '') {
        this.base = base; // URL of the server root, ending in '/'
        this.token = token;
    }

    url(path) {
        return new URL(path, this.base).href;
    }

    streamUrl(worldId) {
        const url = new URL(`v1/worlds/${encodeURIComponent(worldId)}/stream`, this.base);
        url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
        return url.href;
    }

    async fetch(path, options = {}) {
        const headers = new Headers(options.headers || {});
        if (this.token) headers.set('authorization', `Bearer ${this.token}`);
        let response;
        try {
            response = await fetch(this.url(path), { ...options, headers });
        } catch (error) {
            throw new ApiError(0, `cannot reach the server (${error.message})`);
        }
        if (!response.ok) {
            let message = `${response.status} ${response.statusText}`;
            try {
                message = (await response.json()).error?.message ?? message;
            } catch {
                // not JSON: keep the status line
            }
            throw new ApiError(response.status, message);
        }
        return response;
    }

    async json(path, options) {
        return (await this.fetch(path, options)).json();
    }

    listWorlds() {
        return this.json('v1/worlds?page_size=500');
    }

    getWorld(id) {
        return this.json(`v1/worlds/${encodeURIComponent(id)}`);
    }

    async asset(id, name) {
        return (await this.fetch(`v1/worlds/${encodeURIComponent(id)}/assets/${name}`)).blob();
    }

    createWorld(file) {
        const form = new FormData();
        form.append('photo', file, file.name);
        return this.json('v1/worlds', { method: 'POST', body: form });
    }

    tilePath(id, key, format) {
        return `v1/worlds/${encodeURIComponent(id)}/tiles/${key.lod}/${key.ix}/${key.iz}.${format}`;
    }
}
