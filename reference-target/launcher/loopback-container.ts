/**
 * A GenericContainer whose published ports bind 127.0.0.1 only (testcontainers itself binds every interface):
 * `new LoopbackContainer(image).withLoopbackPort(container, host)`. Import it after `service-container.ts` has
 * set testcontainers' environment (Ryuk off, host 127.0.0.1).
 */
import { GenericContainer } from 'testcontainers';

export class LoopbackContainer extends GenericContainer {
  /** Publishes `container` at 127.0.0.1:`host`. */
  withLoopbackPort(container: number, host: number): this {
    this.withExposedPorts({ container, host });
    const b = this.hostConfig.PortBindings as Record<string, Array<{ HostIp?: string; HostPort?: string }>>;
    for (const k of Object.keys(b)) b[k] = b[k]!.map((x) => ({ ...x, HostIp: '127.0.0.1' }));
    return this;
  }
}
