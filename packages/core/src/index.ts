// Errors

// Broker
export type {
  Broker,
  BrokerEvent,
  BrokerHandler,
  BrokerMessage,
  PublishOptions as BrokerPublishOptions,
  SubscribeOptions,
  Subscriber,
} from "./broker/broker.js";
export type { EnvelopeMessage } from "./broker/envelope.js";
export { decodeMessageEnvelope, encodeMessageEnvelope } from "./broker/envelope.js";
export type { MemoryBrokerOptions } from "./broker/memory-broker.js";
export { createMemoryBroker } from "./broker/memory-broker.js";
// Client
export type {
  AttemptFunc,
  AttemptMiddleware,
  Backoff,
  CallFunc,
  CallMiddleware,
  CallOptions,
  Client,
  ClientStream,
  Message as PublishMessage,
  PublishFunc,
  PublishMiddleware,
  PublishOptions,
  Request,
  RetryInfo,
  RetryPolicy,
  ServiceClient,
} from "./client/client.js";
export type { PoolOptions } from "./client/pool.js";
export type { ExponentialBackoffOptions } from "./client/retry.js";
export { exponentialBackoff, neverRetry, retryIfNotDelivered, retryOnTimeout } from "./client/retry.js";
export type { ClientOptions } from "./client/rpc-client.js";
export { createClient } from "./client/rpc-client.js";
export { endpointName } from "./client/service-client.js";
export { createBytesCodec } from "./codec/bytes-codec.js";
// Codec
export type { Codec } from "./codec/codec.js";
export type { CodecTable } from "./codec/codecs.js";
export { codecFor, createCodecTable } from "./codec/codecs.js";
export type { JsonCodecOptions } from "./codec/json-codec.js";
export { createJsonCodec } from "./codec/json-codec.js";
export type { IoOptions } from "./context/call-options.js";
export type { Context } from "./context/context.js";
export { currentContext, propagateContext, runWithContext, timeRemaining } from "./context/context.js";
export { Code, statusOf } from "./errors/codes.js";
export type { MicroErrorJson, MicroErrorOptions } from "./errors/micro-error.js";
export { isMicroError, MicroError } from "./errors/micro-error.js";
export type { ConsoleLoggerOptions, Logger, LogLevel } from "./logger/logger.js";
export { createConsoleLogger, silentLogger } from "./logger/logger.js";
export type { MetadataInit } from "./metadata/metadata.js";
// Metadata and context
export { Metadata } from "./metadata/metadata.js";
export type { CacheRegistry, CacheRegistryOptions } from "./registry/cache-registry.js";
export { createCacheRegistry } from "./registry/cache-registry.js";
export type { MemoryRegistryOptions } from "./registry/memory-registry.js";
export { createMemoryRegistry } from "./registry/memory-registry.js";
// Registry
export type {
  Endpoint,
  Node,
  RegisterOptions,
  Registry,
  RegistryAction,
  RegistryEvent,
  Service as ServiceRecord,
  Value,
  Watcher,
  WatchOptions,
} from "./registry/registry.js";
export { serviceFromGo, serviceToGo } from "./registry/service-util.js";
export { createWatcher } from "./registry/watcher.js";
export type { Envelope, EnvelopeRequest, EnvelopeResponse } from "./rpc/envelope.js";
export { jsonRpcEnvelope } from "./rpc/envelope.js";
// Wire protocol constants and Go Micro's legacy JSON-RPC envelope
export { EOS, getHeader, Header } from "./rpc/headers.js";
export type {
  JsonRpcRequest,
  JsonRpcRequestInit,
  JsonRpcResponse,
  JsonRpcResponseInit,
} from "./rpc/json-rpc-envelope.js";
export {
  decodeJsonRpcRequest,
  decodeJsonRpcResponse,
  encodeJsonRpcRequest,
  encodeJsonRpcResponse,
} from "./rpc/json-rpc-envelope.js";
export { filterEndpoint, filterLabel, filterVersion } from "./selector/filters.js";
export type { SelectorOptions } from "./selector/registry-selector.js";
export { createSelector } from "./selector/registry-selector.js";
// Selector
export type { Filter, Next, NodeStats, SelectOptions, Selector, Strategy } from "./selector/selector.js";
export { leastOutstanding, random, roundRobin } from "./selector/strategies.js";
export { describe, toEndpoint } from "./server/handler.js";
export type { ServerOptions } from "./server/rpc-server.js";
export { createServer } from "./server/rpc-server.js";
// Server
export type {
  EndpointSpec,
  Handler,
  HandlerFunc,
  HandlerMethod,
  HandlerMiddleware,
  HandlerOptions,
  Server,
  ServerRequest,
  ServerSubscriber,
  StreamKind,
  SubscriberCall,
  SubscriberFunc,
  SubscriberMiddleware,
  SubscriberOptions,
} from "./server/server.js";
export type { PluginChoice, ServiceConfig } from "./service/config.js";
export { readConfig } from "./service/config.js";
export { parseDuration } from "./service/duration.js";
// Service
export { createService } from "./service/micro-service.js";
export type { PluginConfig, PluginFactory, PluginTable } from "./service/plugins.js";
export { defaultPlugins, loadPlugin } from "./service/plugins.js";
export type { Hook, InitOptions, RunOptions, Service, ServiceOptions } from "./service/service.js";
export type { MemoryTransportOptions } from "./transport/memory-transport.js";
export { createMemoryTransport } from "./transport/memory-transport.js";
// Transport
export type {
  DialOptions,
  Listener,
  ListenOptions,
  Message,
  Socket,
  Transport,
} from "./transport/transport.js";
