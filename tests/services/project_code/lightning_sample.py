"""A Lightning-format project.yaml written for the tests (the shape OpenFn Lightning exports:
credentials keyed "<owner>-<name>", adaptors as @openfn/language-<name>@<version>, triggers,
edges keyed "<source>-><target>" with condition types including js_expression)."""

LIGHTNING_PROJECT = """\
name: Clinic referrals
description: Referrals from the clinics into DHIS2
credentials:
  amina@example.org-DHIS2 production:
    name: DHIS2 production
    owner: amina@example.org
  amina@example.org-Clinic API:
    name: Clinic API
    owner: amina@example.org
globals: {}
workflows:
  Referral-intake:
    name: Referral intake
    jobs:
      Fetch-referral:
        name: Fetch referral
        adaptor: '@openfn/language-http@6.4.0'
        credential: amina@example.org-Clinic API
        body: |
          get('/referrals/' + state.data.id);
          fn(state => {
            console.log('fetched');
            return state;
          });
      Load-into-DHIS2:
        name: Load into DHIS2
        adaptor: '@openfn/language-dhis2@5.0.1'
        credential: amina@example.org-DHIS2 production
        body: |
          create('trackedEntityInstances', state => state.data);
      Notify-by-SMS:
        name: Notify by SMS
        adaptor: '@openfn/language-twilio@0.4.2'
        credential: null
        body: |
          sendSMS({ to: state.data.phone, body: 'Referral received' });
    triggers:
      webhook:
        type: webhook
        enabled: true
    edges:
      webhook->Fetch-referral:
        source_trigger: webhook
        target_job: Fetch-referral
        condition_type: always
        enabled: true
      Fetch-referral->Load-into-DHIS2:
        source_job: Fetch-referral
        target_job: Load-into-DHIS2
        condition_type: js_expression
        condition_expression: |
          state.data.urgent === true &&
            state.data.district != null
        condition_label: Urgent with a district
        enabled: true
      Load-into-DHIS2->Notify-by-SMS:
        source_job: Load-into-DHIS2
        target_job: Notify-by-SMS
        condition_type: on_job_failure
        enabled: false
  Nightly-summary:
    name: Nightly summary
    jobs:
      Summarise:
        name: Summarise
        adaptor: '@openfn/language-common@latest'
        credential: null
        body: |
          fn(state => ({ ...state, data: { count: state.references.length } }));
    triggers:
      cron:
        type: cron
        cron_expression: '0 2 * * *'
        enabled: false
    edges:
      cron->Summarise:
        source_trigger: cron
        target_job: Summarise
        condition_type: always
        enabled: true
"""
