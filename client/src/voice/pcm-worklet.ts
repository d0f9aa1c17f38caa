/**
 * The audio worklet that captures spoken answers: it runs `RecorderCore` on the audio thread and
 * posts levels and PCM chunks to the main thread. Bundled by Vite as its own same-origin script
 * (`capture.ts` imports it with `?worker&url`), which the app's CSP (`script-src 'self'`) allows.
 */
import { PROCESSOR_NAME, RecorderCore, type RecorderCommand, type RecorderEvent } from './recorder';

/** What an AudioWorkletGlobalScope offers (not in TypeScript's DOM library). */
interface WorkletScope {
  sampleRate: number;
  registerProcessor(name: string, processor: new (options: WorkletOptions) => object): void;
  AudioWorkletProcessor: new (options: WorkletOptions) => { readonly port: MessagePort };
}

interface WorkletOptions {
  processorOptions?: { outputRate: number; chunkBytes: number };
}

const scope = globalThis as unknown as WorkletScope;

class PcmCaptureProcessor extends scope.AudioWorkletProcessor {
  private readonly core: RecorderCore;
  private mono: Float32Array = new Float32Array(128);

  constructor(options: WorkletOptions) {
    super(options);
    const { outputRate = 16000, chunkBytes = 8000 } = options.processorOptions ?? {};
    this.core = new RecorderCore({ inputRate: scope.sampleRate, outputRate, chunkBytes });
    this.port.onmessage = (event: MessageEvent<RecorderCommand>) => {
      const command = event.data;
      if (command.type === 'start') this.post(this.core.start(command.take, command.preroll));
      else if (command.type === 'stop') this.post(this.core.stop(command.take));
    };
  }

  process(inputs: Float32Array[][]): boolean {
    const channels = inputs[0];
    if (!channels || channels.length === 0) return true; // no input connected (yet)
    const length = channels[0].length;
    if (this.mono.length !== length) this.mono = new Float32Array(length);
    if (channels.length === 1) {
      this.mono.set(channels[0]);
    } else {
      // Down-mix: the average of the channels.
      this.mono.fill(0);
      for (const channel of channels) for (let i = 0; i < length; i++) this.mono[i] += channel[i] / channels.length;
    }
    this.post(this.core.process(this.mono));
    return true;
  }

  private post(events: RecorderEvent[]): void {
    for (const event of events) {
      if (event.type === 'chunk') {
        // Each chunk owns its buffer: hand it over instead of copying.
        const buffer = event.pcm.buffer as ArrayBuffer;
        this.port.postMessage(event, buffer.byteLength === event.pcm.byteLength ? [buffer] : []);
      } else {
        this.port.postMessage(event);
      }
    }
  }
}

scope.registerProcessor(PROCESSOR_NAME, PcmCaptureProcessor);
