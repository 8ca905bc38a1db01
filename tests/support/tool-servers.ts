/** The loopback servers tool-use tests call for real: an MCP server (`mcp` execution) and an HTTP API with its OpenAPI document (`http`). */
export { startMcpToolServer, MCP_TOOL_SERVER_TOOLS, type McpToolServer } from './mcp-tool-server.js';
export { startHttpToolApi, httpToolApiOpenApi, type HttpToolApi } from './http-tool-api.js';
