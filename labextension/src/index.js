// JupyterLab shows why the notebook store cannot be used.
//
// JupyterLab's file browser says nothing when a listing fails (a missing bucket, refused
// credentials, an unreachable endpoint all look like an empty folder), except for a 404,
// whose message it replaces by "Directory not found". This plugin asks the server extension
// (GET /api/s3contents/status, python/s3contents_rs/store_status.py) once JupyterLab is up,
// and again when a listing of the default file browser fails, and shows the server's
// message as an error notification that stays until closed: once per message. It also
// makes the file browser's Download ask for an attachment (see files_redirect).

import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ServerConnection } from '@jupyterlab/services';

const STATUS_PATH = 'api/s3contents/status';

// JupyterLab cuts a notification's message at 140 characters: a longer one gets a button
// that shows it whole.
const NOTIFICATION_LENGTH = 140;

/** The store's state from the server ({ok, status, message, place}), or null when the
 * server does not answer it (extension disabled, server gone: JupyterLab says so itself). */
async function fetchStatus(settings) {
  try {
    const url = URLExt.join(settings.baseUrl, STATUS_PATH);
    const response = await ServerConnection.makeRequest(url, {}, settings);
    return response.ok ? await response.json() : null;
  } catch (error) {
    console.debug('s3contents-rs: no store status', error);
    return null;
  }
}

const plugin = {
  id: 's3contents-rs:store-errors',
  description: 'Shows why the s3contents-rs store cannot be used (missing bucket, refused credentials, unreachable endpoint).',
  autoStart: true,
  optional: [IDefaultFileBrowser],
  activate: (app, browser) => {
    const settings = app.serviceManager.serverSettings;
    const shown = new Set();
    let checking = null;

    const show = message => {
      if (!message || shown.has(message)) {
        return;
      }
      shown.add(message);
      const actions =
        message.length > NOTIFICATION_LENGTH
          ? [
              {
                label: 'Details',
                caption: 'Show the whole message',
                callback: () =>
                  void showDialog({
                    title: 'The notebook store cannot be used',
                    body: message,
                    buttons: [Dialog.okButton()]
                  })
              }
            ]
          : [];
      Notification.error(message, { autoClose: false, actions });
    };

    // One status request at a time: the file browser retries failed listings on its own.
    const check = () => {
      if (!checking) {
        checking = fetchStatus(settings)
          .then(status => {
            if (status && !status.ok) {
              show(status.message);
            }
            // What the last check found ("ok", "error", "unknown"), for tests and debugging.
            document.body.dataset.s3contentsStore = status ? (status.ok ? 'ok' : 'error') : 'unknown';
          })
          .finally(() => {
            checking = null;
          });
      }
      return checking;
    };

    void app.restored.then(check);

    if (browser) {
      // The file browser's Download links to /files/<path> and relies on <a download>,
      // which browsers ignore once files_redirect sends them to the store's origin: a text
      // file would open in the tab. Asking for ?download=1 makes the answer (or the
      // presigned URL) say "attachment" itself. Same-origin downloads are unchanged.
      const model = browser.model;
      model.download = async path => {
        const url = new URL(await app.serviceManager.contents.getDownloadUrl(path), window.location.href);
        url.searchParams.set('download', '1');
        const element = document.createElement('a');
        element.href = url.toString();
        element.download = '';
        document.body.appendChild(element);
        element.click();
        document.body.removeChild(element);
      };

      browser.model.connectionFailure.connect((_, error) => {
        const response = error && error.response;
        if (!response) {
          return; // no answer from the server at all: JupyterLab reports lost connections
        }
        if (response.status === 404) {
          // The file browser has replaced the server's message by "Directory not found":
          // a folder really missing, or a missing bucket; the status says which.
          void check();
        } else {
          show(error.message);
        }
      });
    }
  }
};

export default plugin;
