/**
 * Voice answers in the interview room: the microphone, the recording of the open turn, its upload
 * (one `Upload` state machine per recording) and the transcript the candidate checks before
 * sending. It listens to the interview connection (`RecordingListener`) and is told the room's
 * state by `sync`; everything it shows is in one immutable snapshot for React.
 *
 * Recordings start by a button (push-to-talk), by themselves when a question ends (hands-free),
 * or when the candidate speaks over the interviewer (barge-in); hands-free and barge-in
 * recordings stop after a silence that follows speech.
 */
import type { ErrorFrame, Phase, RecordingFrame, TranscriptFinalFrame } from '../api/protocol';
import type { RecordingLink, RecordingListener } from '../hooks/useInterviewSocket';
import { frameChunk } from './framing';
import { classifyMicError, type MicProblem, type Microphone, type OpenMicrophone } from './microphone';
import { AudioPacer } from './pacer';
import { LEVEL_FRAME_MS } from './recorder';
import { DEFAULT_VOICE_SETTINGS, MAX_RECORDING_MS, type VoiceSettings } from './settings';
import { isUploadActive, newUploadId, Upload, type UploadOutput, type UploadProblem, type UploadStage } from './upload';
import { ANSWER_VAD, BARGE_IN_VAD, VoiceActivityDetector } from './vad';

export type RecordingReason = 'button' | 'hands-free' | 'barge-in';

/** What the room tells the controller on every change. */
export interface VoiceRoomState {
  phase: Phase | null;
  /** The turn that can be answered now (asking or listening, no outcome yet), else null. */
  openTurn: number | null;
  /** The interviewer is still streaming the open turn's words. */
  asking: boolean;
  /** The interviewer's voice is playing. */
  speaking: boolean;
  settings: VoiceSettings;
}

export interface VoiceDraft {
  turn: number;
  /** The recording it was transcribed from (null: typed, or the recording is gone). */
  uploadId: string | null;
  text: string;
  rough: boolean;
  recognizer: string | null;
  /** The candidate changed the transcript. */
  edited: boolean;
}

export type MicState = 'off' | 'opening' | 'on' | 'suspended' | 'failed';

export interface VoiceSnapshot {
  mic: MicState;
  micProblem: MicProblem | null;
  recording: boolean;
  /** Capture stopped; its last chunk is on its way. */
  stopping: boolean;
  reason: RecordingReason | null;
  /** Speech was heard in this recording. */
  heardSpeech: boolean;
  elapsedMs: number;
  upload: { id: string; turn: number; stage: UploadStage; problem: UploadProblem | null; receivedMs: number } | null;
  draft: VoiceDraft | null;
  /** Unix ms when the transcript is sent by itself (hands-free), or null. */
  autoSubmitAt: number | null;
  /** Something to tell the candidate that is not an upload problem. */
  notice: string | null;
}

export interface VoiceControllerOptions {
  link: RecordingLink;
  openMicrophone: OpenMicrophone;
  /**
   * Sends the answer: `spoken` for a transcript (with its recording's id while the server has
   * it), null for words typed into the box without a recording.
   */
  submit: (text: string, spoken: { uploadId: string | null } | null) => boolean;
  /** The candidate spoke over the interviewer: stop its voice and interrupt it. */
  onBargeIn?: () => void;
  /** Where the transcript is kept across reloads (sessionStorage), under `draftKey`. */
  storage?: Storage | null;
  draftKey?: string;
  now?: () => number;
  maxRecordingMs?: number;
  autoSubmitMs?: number;
}

/** Shorter recordings are dropped: a tap, not an answer. */
export const MIN_RECORDING_MS = 400;
export const AUTO_SUBMIT_MS = 3_000;
/** After an out-of-order or incomplete error, how long to wait for the ack that says where to resend from. */
export const REWIND_WAIT_MS = 1_000;
/** After a resuming audio.start, how long to wait for the ack before going on from the last one. */
export const START_ACK_WAIT_MS = 4_000;
/** too_many_uploads: automatic retries, this long apart (then a "Try again" button). */
export const RETRY_START_DELAYS_MS = [1_500, 3_000, 6_000];

type TimerName = 'rewind' | 'startAck' | 'retryStart' | 'autoSubmit' | 'drain';

const NO_ROOM: VoiceRoomState = { phase: null, openTurn: null, asking: false, speaking: false, settings: DEFAULT_VOICE_SETTINGS };

export class VoiceController implements RecordingListener {
  private room: VoiceRoomState = NO_ROOM;
  private mic: Microphone | null = null;
  private micState: MicState = 'off';
  private micProblem: MicProblem | null = null;
  private micOpening: Promise<void> | null = null;
  private upload: Upload | null = null;
  private take = 0;
  private recording = false;
  private stopping = false;
  private reason: RecordingReason | null = null;
  private endsOnSilence = false;
  private heardSpeech = false;
  private draft: VoiceDraft | null;
  private autoSubmitAt: number | null = null;
  private notice: string | null = null;
  /** Turns hands-free has started a recording for (it does so once per turn). */
  private readonly autoStarted = new Set<number>();
  private readonly answerVad = new VoiceActivityDetector({ ...ANSWER_VAD, silenceMs: DEFAULT_VOICE_SETTINGS.silenceMs });
  private readonly bargeVad = new VoiceActivityDetector(BARGE_IN_VAD);
  private readonly timers: Record<TimerName, ReturnType<typeof setTimeout> | null> = {
    rewind: null,
    startAck: null,
    retryStart: null,
    autoSubmit: null,
    drain: null,
  };
  /** Frames on their way out, in order (chunks wait here when the pacer says so). */
  private outbox: { upload: Upload; output: UploadOutput }[] = [];
  private readonly pacer: AudioPacer;
  private retryStartCount = 0;
  private readonly listeners = new Set<() => void>();
  private readonly levelListeners = new Set<(db: number) => void>();
  private snapshot: VoiceSnapshot;
  private disposed = false;
  private readonly now: () => number;

  constructor(private readonly options: VoiceControllerOptions) {
    this.now = options.now ?? Date.now;
    this.pacer = new AudioPacer(this.now);
    this.draft = this.restoreDraft();
    this.snapshot = this.build();
  }

  // --- store -----------------------------------------------------------------------------------

  getSnapshot = (): VoiceSnapshot => this.snapshot;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Microphone levels (dBFS, every ~20 ms), for a meter that redraws without React. */
  subscribeLevel = (listener: (db: number) => void): (() => void) => {
    this.levelListeners.add(listener);
    return () => this.levelListeners.delete(listener);
  };

  private changed(): void {
    if (this.disposed) return;
    this.snapshot = this.build();
    this.listeners.forEach((l) => l());
  }

  private build(): VoiceSnapshot {
    const u = this.upload;
    return {
      mic: this.micState,
      micProblem: this.micProblem,
      recording: this.recording,
      stopping: this.stopping,
      reason: this.reason,
      heardSpeech: this.heardSpeech,
      elapsedMs: u ? u.recordedMs : 0,
      upload: u ? { id: u.uploadId, turn: u.turn, stage: u.stage, problem: u.problem, receivedMs: u.receivedMs } : null,
      draft: this.draft,
      autoSubmitAt: this.autoSubmitAt,
      notice: this.notice,
    };
  }

  // --- microphone ------------------------------------------------------------------------------

  /** Opens the microphone (once; again after a failure). */
  openMic(): Promise<void> {
    if (this.mic || this.micOpening) return this.micOpening ?? Promise.resolve();
    this.micState = 'opening';
    this.micProblem = null;
    this.changed();
    this.micOpening = this.options
      .openMicrophone()
      .then((mic) => {
        if (this.disposed) {
          void mic.close();
          return;
        }
        this.mic = mic;
        mic.onLevel = this.onLevel;
        mic.onChunk = this.onChunk;
        this.micState = mic.suspended ? 'suspended' : 'on';
        this.changed();
        this.sync(this.room);
      })
      .catch((error: unknown) => {
        this.micState = 'failed';
        this.micProblem = classifyMicError(error);
        this.changed();
      })
      .finally(() => {
        this.micOpening = null;
      });
    return this.micOpening;
  }

  /** After a click, when the browser held audio back. */
  async resumeMic(): Promise<void> {
    if (!this.mic) return;
    await this.mic.resume().catch(() => undefined);
    this.micState = this.mic.suspended ? 'suspended' : 'on';
    this.changed();
    this.sync(this.room);
  }

  /** Closes the microphone (typing instead); an open recording is discarded. */
  async closeMic(): Promise<void> {
    this.discardRecording();
    const mic = this.mic;
    this.mic = null;
    this.micState = 'off';
    this.micProblem = null;
    this.changed();
    await mic?.close();
  }

  private onLevel = (db: number): void => {
    if (this.micState === 'suspended') {
      // Audio flows again (the browser let it): hands-free may start now.
      this.micState = 'on';
      this.changed();
      this.sync(this.room);
    }
    this.levelListeners.forEach((l) => l(db));
    const answer = this.answerVad.push(db, LEVEL_FRAME_MS);
    const barge = this.bargeVad.push(db, LEVEL_FRAME_MS);
    if (this.recording) {
      if (answer === 'speech-start' && !this.heardSpeech) {
        this.heardSpeech = true;
        this.changed();
      }
      if (answer === 'speech-end' && this.endsOnSilence && this.heardSpeech) void this.stopRecording();
      return;
    }
    if (barge === 'speech-start' && this.canBargeIn()) {
      this.options.onBargeIn?.();
      this.startRecording('barge-in');
    }
  };

  private canBargeIn(): boolean {
    const { settings, openTurn, asking, speaking } = this.room;
    return (
      settings.bargeIn &&
      openTurn !== null &&
      (asking || speaking) &&
      !this.stopping &&
      !this.hasRecordingFor(openTurn) &&
      !(this.draft && this.draft.turn === openTurn && this.draft.text.trim())
    );
  }

  private hasRecordingFor(turn: number): boolean {
    const u = this.upload;
    return !!u && u.turn === turn && (isUploadActive(u.stage) || u.stage === 'transcribed' || u.stage === 'failed');
  }

  private onChunk = (pcm: Uint8Array, take: number): void => {
    const upload = this.upload;
    if (!upload || take !== this.take) return;
    this.run(upload, upload.addChunk(pcm));
    if (this.recording && upload.recordedMs >= (this.options.maxRecordingMs ?? MAX_RECORDING_MS)) {
      const limit = Math.round((this.options.maxRecordingMs ?? MAX_RECORDING_MS) / 1000);
      this.notice = `Recordings stop at ${limit >= 60 ? `${Math.round(limit / 60)} minutes` : `${limit} seconds`}: this one is being transcribed.`;
      void this.stopRecording();
      return;
    }
    this.changed();
  };

  // --- the room --------------------------------------------------------------------------------

  /** The room changed (phase, open turn, the interviewer's voice, settings). */
  sync(room: VoiceRoomState): void {
    this.room = room;
    this.answerVad.configure({ silenceMs: room.settings.silenceMs });
    const { phase, openTurn } = room;

    // The turn we were answering is over (answered, skipped, timed out, ended): let go of it.
    if (phase !== null) {
      if (this.upload && this.upload.turn !== openTurn) this.discardRecording();
      if (this.draft && this.draft.turn !== openTurn) this.setDraft(null);
    }
    // Hands-free: record as soon as the question has been asked (and read aloud).
    if (
      room.settings.handsFree &&
      phase === 'listening' &&
      openTurn !== null &&
      !room.speaking &&
      this.micState === 'on' &&
      !this.recording &&
      !this.stopping &&
      !this.autoStarted.has(openTurn) &&
      !this.hasRecordingFor(openTurn) &&
      !(this.draft && this.draft.turn === openTurn)
    ) {
      this.autoStarted.add(openTurn);
      this.startRecording('hands-free');
    }
    if (!room.settings.handsFree && this.autoSubmitAt !== null) this.cancelAutoSubmit();
  }

  // --- recording -------------------------------------------------------------------------------

  /** Starts recording an answer to the open turn; false when that is not possible now. */
  startRecording(reason: RecordingReason): boolean {
    const turn = this.room.openTurn;
    const mic = this.mic;
    if (!mic || this.micState === 'failed' || this.recording || this.stopping || turn === null) return false;
    const current = this.upload;
    if (current && current.turn === turn && isUploadActive(current.stage)) return false;
    // A new recording replaces the last one and its transcript.
    this.discardRecording();
    this.setDraft(null);
    this.notice = null;
    this.take += 1;
    // The server takes audio.start while the question is still being asked (barge-in).
    const upload = new Upload(newUploadId(), turn);
    this.upload = upload;
    this.recording = true;
    this.reason = reason;
    this.endsOnSilence = this.room.settings.handsFree || reason === 'barge-in';
    // Barge-in began with speech: it is already under way, and the pre-roll keeps its start.
    this.heardSpeech = reason === 'barge-in';
    this.answerVad.reset(reason === 'barge-in');
    this.retryStartCount = 0;
    mic.startRecording(this.take, reason === 'barge-in');
    if (this.options.link.ready) this.run(upload, upload.linkUp());
    this.changed();
    return true;
  }

  /** Stops capturing; the recording is then sent for transcription (or dropped if too short). */
  async stopRecording(): Promise<void> {
    if (!this.recording || !this.mic) return;
    const upload = this.upload;
    const take = this.take;
    this.recording = false;
    this.stopping = true;
    this.changed();
    await this.mic.stopRecording(take);
    this.stopping = false;
    if (!upload || upload !== this.upload) {
      this.changed();
      return;
    }
    if (upload.stage === 'recording') {
      if (upload.recordedMs < MIN_RECORDING_MS) {
        this.run(upload, upload.cancel());
        this.upload = null;
        this.reason = null;
        this.notice = 'That recording was too short. Hold the button (or Space) while you speak, or tap it to start and again to stop.';
      } else {
        this.run(upload, upload.finish());
      }
    }
    this.changed();
  }

  /** Drops the recording (and tells the server to discard it). */
  discardRecording(): void {
    const upload = this.upload;
    if (this.recording && this.mic) void this.mic.stopRecording(this.take);
    this.recording = false;
    this.reason = null;
    this.heardSpeech = false;
    this.clearTimer('rewind');
    this.clearTimer('startAck');
    this.clearTimer('retryStart');
    this.cancelAutoSubmit();
    if (upload) {
      this.upload = null;
      // Its chunks still waiting to go are dropped; the server discards what it has.
      this.outbox = this.outbox.filter((entry) => entry.upload !== upload);
      this.run(upload, upload.cancel());
    }
    this.changed();
  }

  /** "Record again": drops the transcript and the recording and starts a new one. */
  recordAgain(): boolean {
    this.discardRecording();
    this.setDraft(null);
    return this.startRecording('button');
  }

  /** "Try again", for what the problem allows. */
  retry(): void {
    const upload = this.upload;
    if (!upload?.problem) return;
    switch (upload.problem.remedy) {
      case 'retry-start':
        this.retryStartCount = 0;
        this.clearTimer('retryStart');
        this.run(upload, upload.retryStart());
        break;
      case 'retry-transcription':
        this.run(upload, upload.retryTranscription());
        break;
      case 'record-again':
        this.recordAgain();
        break;
      default:
        break;
    }
    this.changed();
  }

  // --- transcript and answer -------------------------------------------------------------------

  setDraftText(text: string): void {
    const turn = this.room.openTurn ?? this.draft?.turn ?? null;
    if (turn === null) return;
    this.cancelAutoSubmit();
    const base: VoiceDraft = this.draft ?? { turn, uploadId: null, text: '', rough: false, recognizer: null, edited: false };
    this.setDraft(text || base.uploadId ? { ...base, text, edited: true } : null);
  }

  cancelAutoSubmit(): void {
    this.clearTimer('autoSubmit');
    if (this.autoSubmitAt !== null) {
      this.autoSubmitAt = null;
      this.changed();
    }
  }

  /** Sends the transcript (as edited) as the answer. */
  submit(): boolean {
    const draft = this.draft;
    this.cancelAutoSubmit();
    if (!draft || !draft.text.trim() || this.recording || this.stopping) return false;
    return this.options.submit(draft.text, draft.recognizer !== null ? { uploadId: draft.uploadId } : null);
  }

  private onTranscript(frame: TranscriptFinalFrame): void {
    const upload = this.upload;
    if (!upload || !upload.onTranscript(frame)) return;
    this.clearTimer('rewind');
    this.clearTimer('startAck');
    this.setDraft({
      turn: frame.turn,
      uploadId: frame.upload_id,
      text: frame.text,
      rough: frame.rough,
      recognizer: frame.recognizer,
      edited: false,
    });
    if (this.room.settings.handsFree && frame.text.trim()) {
      const wait = this.options.autoSubmitMs ?? AUTO_SUBMIT_MS;
      this.autoSubmitAt = this.now() + wait;
      this.timers.autoSubmit = setTimeout(() => {
        this.timers.autoSubmit = null;
        this.autoSubmitAt = null;
        this.submit();
        this.changed();
      }, wait);
    }
    this.changed();
  }

  private setDraft(draft: VoiceDraft | null): void {
    if (draft === this.draft) return;
    this.draft = draft;
    const { storage, draftKey } = this.options;
    if (storage && draftKey) {
      try {
        if (draft) storage.setItem(draftKey, JSON.stringify(draft));
        else storage.removeItem(draftKey);
      } catch {
        // storage unavailable: the transcript lives in memory only
      }
    }
    this.changed();
  }

  private restoreDraft(): VoiceDraft | null {
    const { storage, draftKey } = this.options;
    if (!storage || !draftKey) return null;
    try {
      const raw = storage.getItem(draftKey);
      const saved = raw ? (JSON.parse(raw) as Partial<VoiceDraft>) : null;
      if (!saved || typeof saved.turn !== 'number' || typeof saved.text !== 'string') return null;
      return {
        turn: saved.turn,
        uploadId: typeof saved.uploadId === 'string' ? saved.uploadId : null,
        text: saved.text,
        rough: !!saved.rough,
        recognizer: typeof saved.recognizer === 'string' ? saved.recognizer : null,
        edited: !!saved.edited,
      };
    } catch {
      return null;
    }
  }

  // --- the connection (RecordingListener) ------------------------------------------------------

  linkUp(): void {
    // A new socket has a fresh audio allowance on the server.
    this.pacer.reset();
    const upload = this.upload;
    if (upload) this.run(upload, upload.linkUp());
    this.changed();
  }

  linkDown(): void {
    this.upload?.linkDown();
    this.outbox = [];
    this.clearTimer('drain');
    this.clearTimer('rewind');
    this.clearTimer('startAck');
    this.changed();
  }

  frame(frame: RecordingFrame | ErrorFrame): void {
    const upload = this.upload;
    switch (frame.type) {
      case 'audio.ack':
        if (upload && frame.upload_id === upload.uploadId) this.run(upload, upload.onAck(frame));
        break;
      case 'transcript.final':
        this.onTranscript(frame);
        break;
      case 'error':
        if (upload && upload.stage !== 'transcribed') {
          this.run(upload, upload.onError(frame.code, frame.message, frame.retryable));
        } else {
          // About a recording we no longer hold (e.g. the answer named one that expired): its
          // transcript can still be sent, as typed.
          if (frame.code === 'upload_not_found' && this.draft?.uploadId) this.setDraft({ ...this.draft, uploadId: null });
          this.notice = frame.message;
        }
        break;
    }
    this.changed();
  }

  // --- plumbing --------------------------------------------------------------------------------

  /** Sends an upload's frames, in order, as fast as the pacer allows. */
  private run(upload: Upload, outputs: UploadOutput[]): void {
    for (const output of outputs) this.outbox.push({ upload, output });
    this.drain();
    if (upload === this.upload) this.afterUpload(upload);
  }

  private drain(): void {
    this.clearTimer('drain');
    while (this.outbox.length > 0) {
      const { upload, output } = this.outbox[0];
      let ok: boolean;
      if (output.kind === 'chunk') {
        const frame = frameChunk(output.index, output.pcm);
        const wait = this.pacer.waitMs(frame.byteLength);
        if (wait > 0) {
          this.timers.drain = setTimeout(() => {
            this.timers.drain = null;
            this.drain();
          }, wait);
          return;
        }
        this.pacer.take(frame.byteLength);
        ok = this.options.link.sendAudioChunk(frame);
      } else {
        ok = this.options.link.sendAudioControl(output.frame);
      }
      this.outbox.shift();
      if (!ok) {
        // The socket is gone: everything queued is resent after the next `ready`.
        upload.linkDown();
        this.outbox = [];
        return;
      }
    }
  }

  /** Timers and capture follow the upload's state. */
  private afterUpload(upload: Upload): void {
    if (upload.rewindPending) {
      this.timers.rewind ??= setTimeout(() => {
        this.timers.rewind = null;
        if (this.upload === upload) this.run(upload, upload.onRewindTimeout());
        this.changed();
      }, REWIND_WAIT_MS);
    } else {
      this.clearTimer('rewind');
    }
    if (upload.awaitingAck) {
      this.timers.startAck ??= setTimeout(() => {
        this.timers.startAck = null;
        if (this.upload === upload) this.run(upload, upload.onStartTimeout());
        this.changed();
      }, START_ACK_WAIT_MS);
    } else {
      this.clearTimer('startAck');
    }
    const busy = upload.problem?.code === 'too_many_uploads' && upload.problem.remedy === 'retry-start';
    if (busy && this.timers.retryStart === null && this.retryStartCount < RETRY_START_DELAYS_MS.length) {
      const delay = RETRY_START_DELAYS_MS[this.retryStartCount];
      this.retryStartCount += 1;
      this.timers.retryStart = setTimeout(() => {
        this.timers.retryStart = null;
        if (this.upload === upload) this.run(upload, upload.retryStart());
        this.changed();
      }, delay);
    }
    // The server ended the recording (too long, lost, refused): stop capturing it.
    if (this.recording && upload.stage !== 'recording') {
      this.recording = false;
      if (this.mic) void this.mic.stopRecording(this.take);
    }
  }

  private clearTimer(name: TimerName): void {
    const timer = this.timers[name];
    if (timer !== null) clearTimeout(timer);
    this.timers[name] = null;
  }

  dispose(): void {
    if (this.disposed) return;
    (Object.keys(this.timers) as TimerName[]).forEach((t) => this.clearTimer(t));
    const upload = this.upload;
    if (upload && isUploadActive(upload.stage)) this.run(upload, upload.cancel());
    this.upload = null;
    this.disposed = true;
    void this.mic?.close();
    this.mic = null;
    this.listeners.clear();
    this.levelListeners.clear();
  }
}
