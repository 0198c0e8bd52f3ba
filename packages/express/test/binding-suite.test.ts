import { runBindingSuite } from '@apphook/test-suite/binding';
import express from 'express';
import { suiteApp } from './suite-app.js';

runBindingSuite({ name: 'express 5', createApp: suiteApp(express) });
