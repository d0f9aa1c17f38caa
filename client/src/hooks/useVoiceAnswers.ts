/**
 * Voice in the interview room: the interviewer's voice (speechSynthesis) and the candidate's
 * (a `VoiceController` attached to the interview connection), both driven by the live state.
 * In typed mode the microphone is closed and the interviewer is silent.
 */
import { useCallback, useEffect, useMemo, useRef, useState, useSyncExternalStore } from 'react';
import type { Phase } from '../api/protocol';
import type { TranscriptTurn } from './interviewReducer';
import type { InterviewSocket } from './useInterviewSocket';
import { VoiceController, type VoiceSnapshot } from '../voice/controller';
import { openBrowserMicrophone } from '../voice/micCheck';
import type { OpenMicrophone } from '../voice/microphone';
import { loadVoiceSettings, saveVoiceSettings, type AnswerMode, type VoiceSettings } from '../voice/settings';
import { browserSpeech, InterviewerVoice, type SpeechEnvironment, type VoiceLike } from '../voice/speech';

export interface VoiceAnswersOptions {
  interviewId: string;
  socket: InterviewSocket | null;
  mode: AnswerMode;
  /** The interview is over: nothing more to record or read. */
  over: boolean;
  phase: Phase | null;
  currentTurn: number | null;
  turns: TranscriptTurn[];
  /** Stops the interviewer mid-question (the typed path's Interrupt). */
  interrupt: () => boolean;
  /** Sends an answer: spoken (with its recording) or typed. */
  answer: (text: string, voice?: { uploadId: string | null }) => boolean;
  /** For tests: the microphone and speech to use. */
  openMicrophone?: OpenMicrophone;
  speech?: SpeechEnvironment | null;
}

export interface VoiceAnswers {
  settings: VoiceSettings;
  updateSettings: (change: Partial<VoiceSettings>) => void;
  controller: VoiceController | null;
  snapshot: VoiceSnapshot | null;
  interviewer: { supported: boolean; available: boolean; speaking: boolean; voices: VoiceLike[] };
  /** Starts an answer now: stops the interviewer first if it is still talking. */
  startAnswer: () => boolean;
  /** The interviewer can read the open question aloud again (voice answers, voice on). */
  canHearAgain: boolean;
  /** Reads the open question aloud again, from its start. */
  hearAgain: () => boolean;
}

/**
 * The interviewer's voice reads each take of a turn once. "Hear it again" asks for another take
 * of the same words: its take number is moved by this much per repeat, out of the way of the
 * takes a regenerated turn counts (1, 2, 3, …).
 */
const REPEAT_TAKE = 1_000;

const NO_VOICES: VoiceLike[] = [];

export function useVoiceAnswers(options: VoiceAnswersOptions): VoiceAnswers {
  const { interviewId, socket, mode, over, phase, currentTurn, turns, interrupt, answer } = options;
  const voiceMode = mode === 'voice' && !over;
  const [settings, setSettings] = useState<VoiceSettings>(() => loadVoiceSettings());
  const updateSettings = useCallback((change: Partial<VoiceSettings>) => {
    setSettings((current) => {
      const next = { ...current, ...change };
      saveVoiceSettings(next);
      return next;
    });
  }, []);

  // The interviewer's voice lives as long as the room (settings changes are applied below).
  const speechOption = options.speech;
  const [interviewer, setInterviewer] = useState<InterviewerVoice | null>(null);
  useEffect(() => {
    const created = new InterviewerVoice(speechOption === undefined ? browserSpeech() : speechOption);
    setInterviewer(created);
    return () => {
      created.dispose();
      setInterviewer(null);
    };
  }, [speechOption]);
  const subscribeSpeech = useCallback(
    (listener: () => void) => (interviewer ? interviewer.subscribe(listener) : () => undefined),
    [interviewer],
  );
  const speaking = useSyncExternalStore(subscribeSpeech, () => interviewer?.speaking ?? false);
  const voices = useSyncExternalStore(subscribeSpeech, () =>
    interviewer?.available ? interviewer.voices : NO_VOICES,
  );
  useEffect(() => interviewer?.setMuted(settings.muted || !voiceMode), [interviewer, settings.muted, voiceMode]);
  useEffect(() => interviewer?.setVoice(settings.voiceUri), [interviewer, settings.voiceUri]);
  // Repeats asked for, per turn: the voice sees those turns as new takes of the same words.
  const [repeats, setRepeats] = useState<ReadonlyMap<number, number>>(() => new Map());
  const spoken = useMemo(
    () =>
      repeats.size === 0
        ? turns
        : turns.map((t) => {
            const n = repeats.get(t.index);
            // A repeat reads the whole question, even one the candidate had cut short.
            return n ? { ...t, take: t.take + n * REPEAT_TAKE, interrupted: false } : t;
          }),
    [turns, repeats],
  );
  useEffect(() => {
    if (voiceMode) interviewer?.update(spoken, currentTurn);
  }, [interviewer, voiceMode, spoken, currentTurn]);

  // Read by callbacks that outlive a render.
  const latest = useRef({ phase, interrupt, answer, interviewer });
  latest.current = { phase, interrupt, answer, interviewer };

  const openMicrophone = options.openMicrophone ?? openBrowserMicrophone;
  const [controller, setController] = useState<VoiceController | null>(null);
  useEffect(() => {
    if (!socket) return;
    const created = new VoiceController({
      link: socket,
      openMicrophone,
      storage: safeSessionStorage(),
      draftKey: `interview.voice.${interviewId}`,
      submit: (text, spoken) => (spoken ? latest.current.answer(text, spoken) : latest.current.answer(text)),
      onBargeIn: () => {
        latest.current.interviewer?.stop();
        if (latest.current.phase === 'asking') latest.current.interrupt();
      },
    });
    const detach = socket.attachRecorder(created);
    setController(created);
    return () => {
      detach();
      created.dispose();
      setController(null);
    };
    // One controller per connection; the callbacks read `latest`.
  }, [socket, interviewId]);

  useEffect(() => {
    if (!controller) return;
    if (voiceMode) void controller.openMic();
    else void controller.closeMic();
  }, [controller, voiceMode]);

  const openTurnIndex = useMemo(() => {
    if (phase !== 'asking' && phase !== 'listening') return null;
    const turn = turns.find((t) => t.index === currentTurn);
    return turn && turn.outcome === null && turn.answer === null ? turn.index : null;
  }, [phase, turns, currentTurn]);
  const asking = phase === 'asking' && !!turns.find((t) => t.index === currentTurn)?.streaming;

  useEffect(() => {
    controller?.sync({ phase, openTurn: voiceMode ? openTurnIndex : null, asking, speaking, settings });
  }, [controller, phase, openTurnIndex, asking, speaking, settings, voiceMode]);

  const subscribe = useCallback(
    (listener: () => void) => (controller ? controller.subscribe(listener) : () => undefined),
    [controller],
  );
  const snapshot = useSyncExternalStore(subscribe, () => controller?.getSnapshot() ?? null);

  const startAnswer = useCallback((): boolean => {
    if (!controller) return false;
    if (interviewer?.speaking || latest.current.phase === 'asking') {
      interviewer?.stop();
      if (latest.current.phase === 'asking') latest.current.interrupt();
    }
    return controller.startRecording('button');
  }, [controller, interviewer]);

  const canHearAgain =
    voiceMode && !settings.muted && !!interviewer?.supported && voices.length > 0 && phase === 'listening' && openTurnIndex !== null;
  const hearAgain = useCallback((): boolean => {
    if (!canHearAgain || openTurnIndex === null) return false;
    const turn = openTurnIndex;
    setRepeats((current) => new Map(current).set(turn, (current.get(turn) ?? 0) + 1));
    return true;
  }, [canHearAgain, openTurnIndex]);

  return {
    settings,
    updateSettings,
    controller,
    snapshot,
    interviewer: { supported: !!interviewer?.supported, available: voices.length > 0, speaking, voices },
    startAnswer,
    canHearAgain,
    hearAgain,
  };
}

function safeSessionStorage(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null;
  }
}
