/**
 * The Web Audio microphone: getUserMedia → AudioContext → the capture worklet. Browser-only (jsdom
 * has no Web Audio); everything it computes is in plain modules that are unit-tested, and the
 * whole path is exercised by the end-to-end tests in Chromium with a fake microphone.
 */
import { AUDIO_SAMPLE_RATE } from '../api/protocol';
import { CHUNK_BYTES } from './framing';
import { browserMicEnvironment, micSupportProblem, MicrophoneError, type Microphone } from './microphone';
import { littleEndianToFloat } from './pcm';
import { PROCESSOR_NAME, type RecorderCommand, type RecorderEvent } from './recorder';
// Bundled as its own file under /assets (same origin, so `script-src 'self'` covers it).
import workletUrl from './pcm-worklet?worker&url';

/** How long to wait for the worklet to confirm a stop before giving up on its last chunk. */
const STOP_TIMEOUT_MS = 1_500;

export async function openMicrophone(): Promise<Microphone> {
  const problem = micSupportProblem(browserMicEnvironment());
  if (problem) throw new MicrophoneError(problem);
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
  });
  let context: AudioContext | null = null;
  try {
    context = new AudioContext({ latencyHint: 'interactive' });
    try {
      await context.audioWorklet.addModule(workletUrl);
    } catch (error) {
      throw new MicrophoneError('worklet-failed', `could not load ${workletUrl}: ${String(error)}`);
    }
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, PROCESSOR_NAME, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [1],
      // The browser down-mixes a stereo microphone to mono before the worklet sees it.
      channelCount: 1,
      channelCountMode: 'explicit',
      processorOptions: { outputRate: AUDIO_SAMPLE_RATE, chunkBytes: CHUNK_BYTES },
    });
    source.connect(node);
    // The worklet writes nothing to its output: connected only so the graph keeps pulling it.
    node.connect(context.destination);
    if (context.state === 'suspended') void context.resume().catch(() => undefined);
    return new WebAudioMicrophone(stream, context, source, node);
  } catch (error) {
    stream.getTracks().forEach((t) => t.stop());
    await context?.close().catch(() => undefined);
    throw error;
  }
}

class WebAudioMicrophone implements Microphone {
  onLevel: ((db: number) => void) | null = null;
  onChunk: ((pcm: Uint8Array, take: number) => void) | null = null;
  private readonly stopping = new Map<number, () => void>();
  private closed = false;

  constructor(
    private readonly stream: MediaStream,
    private readonly context: AudioContext,
    private readonly source: MediaStreamAudioSourceNode,
    private readonly node: AudioWorkletNode,
  ) {
    node.port.onmessage = (event: MessageEvent<RecorderEvent>) => {
      const message = event.data;
      if (message.type === 'level') this.onLevel?.(message.db);
      else if (message.type === 'chunk') this.onChunk?.(message.pcm, message.take);
      else if (message.type === 'stopped') {
        this.stopping.get(message.take)?.();
        this.stopping.delete(message.take);
      }
    };
  }

  get suspended(): boolean {
    return this.context.state === 'suspended';
  }

  startRecording(take: number, preroll: boolean): void {
    this.command({ type: 'start', take, preroll });
  }

  stopRecording(take: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.stopping.delete(take);
        resolve();
      }, STOP_TIMEOUT_MS);
      this.stopping.set(take, () => {
        clearTimeout(timer);
        resolve();
      });
      this.command({ type: 'stop', take });
    });
  }

  resume(): Promise<void> {
    return this.context.resume();
  }

  async play(pcm: Uint8Array): Promise<void> {
    const samples = littleEndianToFloat(pcm);
    if (samples.length === 0) return;
    const buffer = this.context.createBuffer(1, samples.length, AUDIO_SAMPLE_RATE);
    buffer.copyToChannel(samples, 0);
    const player = this.context.createBufferSource();
    player.buffer = buffer;
    player.connect(this.context.destination);
    await new Promise<void>((resolve) => {
      player.onended = () => resolve();
      player.start();
    });
    player.disconnect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.node.port.onmessage = null;
    this.source.disconnect();
    this.node.disconnect();
    this.stream.getTracks().forEach((t) => t.stop());
    this.stopping.forEach((resolve) => resolve());
    this.stopping.clear();
    await this.context.close().catch(() => undefined);
  }

  private command(command: RecorderCommand): void {
    if (!this.closed) this.node.port.postMessage(command);
  }
}
